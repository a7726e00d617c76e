"""One egress policy for every connection Samtale opens to an address a user gave it: calendar
feeds, a channel's SMTP and IMAP servers, and (later) webhooks and chat/Messenger/call providers.

The host is resolved once; every address it resolves to must be public (not loopback, private,
link-local, the cloud metadata address, multicast or reserved) unless configuration allows its
network (`SAMTALE_EGRESS_ALLOWED_NETWORKS`, or `SAMTALE_EGRESS_ALLOW_PRIVATE`); the connection is
then made to one of the vetted addresses, never by resolving the name again (DNS rebinding). The
installation's own relay (`SAMTALE_EMAIL_HOST`), set by whoever runs the server, is not a user's
address and is not subject to this.

Errors say what went wrong in our words (`EgressError`), never what the remote end answered:
pointing a feed at an internal service must not read that service's reply back to the user.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
import urllib.request
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressError(Exception):
    """The connection is not allowed or could not be made; the message is safe to show."""


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in spec if s.strip())


def allowed(address: Address) -> bool:
    if getattr(settings, "SAMTALE_EGRESS_ALLOW_PRIVATE", False):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in _networks(tuple(settings.SAMTALE_EGRESS_ALLOWED_NETWORKS))):
        return True
    return address.is_global and not address.is_multicast


def check_host(host: str) -> str:
    """A syntactically valid host name or address (IDNA-encodable, labels of 1-63, at most 253)."""
    name = host.strip().rstrip(".")
    if not name or len(name) > 253:
        raise EgressError("The host name is not valid.")
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    try:
        encoded = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise EgressError("The host name is not valid.") from None
    if any(not 0 < len(label) <= 63 for label in encoded.split(".")):
        raise EgressError("The host name is not valid.")
    return encoded


def vet(host: str, port: int) -> list[Address]:
    """The addresses `host` resolves to, all allowed; EgressError otherwise."""
    name = check_host(host)
    if not 0 < port < 65536:
        raise EgressError("The port must be a number from 1 to 65535.")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EgressError(f"The host {name} could not be found.") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise EgressError(f"The host {name} could not be found.")
    if not all(allowed(a) for a in addresses):
        raise EgressError(
            f"{name} is on a private or local network, which is not allowed "
            "(an administrator can allow it with SAMTALE_EGRESS_ALLOWED_NETWORKS)."
        )
    return addresses


def connect(host: str, port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to a vetted address of `host` (the first that answers)."""
    last: OSError | None = None
    for address in vet(host, port):
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            sock.connect((str(address), port))
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise EgressError(describe(last or OSError(), host, port))


def wrap_tls(sock: socket.socket, host: str, context: ssl.SSLContext | None = None) -> ssl.SSLSocket:
    """TLS over a vetted connection, checking the certificate against the host name."""
    return (context or ssl.create_default_context()).wrap_socket(sock, server_hostname=host.strip().rstrip("."))


def describe(exc: BaseException, host: str, port: int) -> str:
    """What went wrong, in our words only (never the remote end's reply)."""
    where = f"{host}:{port}"
    if isinstance(exc, EgressError):
        return str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"The TLS certificate of {where} could not be verified."
    if isinstance(exc, ssl.SSLError):
        return f"A TLS connection to {where} could not be made."
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"{where} did not answer in time."
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection."
    if isinstance(exc, OSError):
        return f"Could not connect to {where}."
    return f"The server at {where} did not answer as expected."


def networks_from(values: Iterable[str]) -> list[str]:
    """Validate configured networks at start-up (a typo must not silently allow nothing)."""
    out = []
    for value in values:
        if value.strip():
            ipaddress.ip_network(value.strip(), strict=False)
            out.append(value.strip())
    return out


# ---------------------------------------------------------------- HTTP(S) through the policy


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = connect(self.host, self.port, self.timeout)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = connect(self.host, self.port, self.timeout)
        self.sock = wrap_tls(sock, self.host, self._context)  # type: ignore[attr-defined]


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=ssl.create_default_context())


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise EgressError("The address redirects to something that is not http or https.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def opener() -> urllib.request.OpenerDirector:
    """A urllib opener whose every connection (redirects included) goes through the policy, and
    which ignores proxy settings from the environment."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _HTTPHandler, _HTTPSHandler, _Redirects)


def check_url(url: str) -> urllib.parse.SplitResult:
    """An http(s) URL whose host passes the policy now (it is checked again on every connection)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EgressError("The address must start with http:// or https://.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EgressError("The address has an invalid port.") from None
    vet(parts.hostname, port)
    return parts


def check_destination(host: str) -> str:
    """What can be known without resolving, for a settings form: the name is valid, and an
    address given literally is allowed. Names are resolved and checked on every connection."""
    name = check_host(host)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name
    if not allowed(address):
        raise EgressError(f"{name} is on a private or local network, which is not allowed.")
    return name
