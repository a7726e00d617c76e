"""Who is asking, and over what: the client address and scheme, read from `X-Forwarded-For` and
`X-Forwarded-Proto` only when the connection comes from a proxy the administrator trusts
(`SAMTALE_TRUSTED_PROXIES`). From anyone else those headers are removed before anything reads
them, so a client cannot pick its own rate-limit bucket or claim https."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4)
def _trusted(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(s, strict=False) for s in spec)


def is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in _trusted(tuple(settings.SAMTALE_TRUSTED_PROXIES)))


def client_from(remote: str, forwarded_for: str) -> str:
    """The first address from the right of the X-Forwarded-For chain that is not a trusted proxy
    (each proxy appends the address it received the request from)."""
    chain = [part.strip() for part in forwarded_for.split(",")[-20:] if part.strip()]
    for address in reversed(chain):
        if not is_trusted(address):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # not an address: keep the proxy's own
    return chain[0] if chain else remote


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        remote = str(meta.get("REMOTE_ADDR", ""))
        if remote and is_trusted(remote):
            meta["SAMTALE_PROXY_ADDR"] = remote
            meta["REMOTE_ADDR"] = client_from(remote, str(meta.get("HTTP_X_FORWARDED_FOR", "")))
        else:
            meta.pop("HTTP_X_FORWARDED_FOR", None)
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
        if settings.SAMTALE_HTTPS:  # the deployment is served over https only (TLS ends at a proxy)
            meta["HTTP_X_FORWARDED_PROTO"] = "https"
        response = self.get_response(request)
        if request.is_secure():  # over https (configured, or a trusted proxy says so): secure cookies, HSTS
            for cookie in response.cookies.values():
                cookie["secure"] = True
            response.headers.setdefault("Strict-Transport-Security", f"max-age={settings.SAMTALE_HSTS_SECONDS}")
        return response


def absolute_url(request: HttpRequest, path: str) -> str:
    """An absolute URL for `path` (https when the site is served over it)."""
    scheme = "https" if settings.SAMTALE_HTTPS or request.is_secure() else "http"
    return f"{scheme}://{request.get_host()}{path}"
