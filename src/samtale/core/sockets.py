"""What every WebSocket consumer of Samtale shares."""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name


class DirectDispatch:
    """Channels closes the shared sync thread's stale database connections before every handler:
    one hop to that single thread (which sync views share) per frame and per event, for every
    socket. Samtale's consumers reach the database only through `database_sync_to_async`, which
    does that around each call on the thread that runs it, so frames and events go straight to
    their handler."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


def _origin(scheme: str, netloc: str) -> str:
    """`scheme://host[:port]` in lower case, without the scheme's default port (as browsers send it)."""
    netloc = netloc.strip().lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    if default and netloc.endswith(default):
        netloc = netloc.removesuffix(default)
    return f"{scheme}://{netloc}"


def page_origin(scope: dict[str, Any]) -> str:
    """The origin of the page that should be opening this socket: the scheme it was served over
    (https when the site is configured so, or a trusted proxy says so; ws → http) and the host and
    port the browser asked for."""
    from django.conf import settings

    from samtale.core.proxies import is_trusted

    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    secure = scope.get("scheme") == "wss" or settings.SAMTALE_HTTPS
    remote = (scope.get("client") or ("", 0))[0] or ""
    if remote and is_trusted(remote) and headers.get("x-forwarded-proto", "").strip().lower() == "https":
        secure = True
    return _origin("https" if secure else "http", headers.get("host", ""))


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Same origin, compared as a browser does (scheme, host and port), or one the administrator
    trusts (SAMTALE_CSRF_TRUSTED_ORIGINS); the host must also be one this server answers to."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.http.request import split_domain_port, validate_host

    headers = dict(scope.get("headers", []))
    sent = headers.get(b"origin", b"").decode("latin-1").strip()
    if not sent or sent == "null":
        return False
    try:
        parts = urlsplit(sent)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        return False
    origin = _origin(parts.scheme, parts.netloc)
    expected = page_origin(scope)
    domain, _port = split_domain_port(expected.split("://", 1)[1])
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    trusted = {_origin(*o.lower().split("://", 1)) for o in settings.CSRF_TRUSTED_ORIGINS if "://" in o}
    return origin == expected or origin in trusted


class SameOriginValidator:
    """ASGI middleware for a socket only Samtale's own pages may open (the agent's): refused
    (HTTP 403) unless `origin_allowed`. Channels' AllowedHostsOriginValidator compares host names
    only, so a page on another port or scheme of the same host could open it with the cookie."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        from channels.security.websocket import WebsocketDenier

        if scope.get("type") == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
