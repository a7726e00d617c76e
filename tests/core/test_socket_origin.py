"""The agent's socket opens only from Samtale's own pages: the Origin must match the page's scheme,
host and port (or be one the administrator trusts), as a browser compares origins."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from samtale.core.sockets import origin_allowed


def scope(origin: str | None, host: str = "127.0.0.1:8000", scheme: str = "ws", client: str = "127.0.0.1") -> Any:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers, "client": (client, 5555)}


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:8000", "HTTP://127.0.0.1:8000", "http://127.0.0.1:8000/"],
)
def test_the_page_of_the_same_origin_may_open_it(origin: str) -> None:
    assert origin_allowed(scope(origin))


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:1",  # another port of the same host
        "https://127.0.0.1:8000",  # another scheme
        "http://localhost:8080",  # an allowed host name, but not the one the page is on
        "http://localhost:8000",
        "http://127.0.0.1",  # port 80
        "http://evil.example",
        "null",  # a sandboxed frame or a file
        "",
        None,
        "http://127.0.0.1:8000.evil.example",
        "ftp://127.0.0.1:8000",
        "http://127.0.0.1:8000/page",
    ],
)
def test_any_other_origin_is_refused(origin: str | None) -> None:
    assert not origin_allowed(scope(origin))


def test_a_host_the_server_does_not_answer_to_is_refused_even_from_its_own_origin() -> None:
    assert not origin_allowed(scope("http://evil.example:8000", host="evil.example:8000"))


def test_default_ports_are_what_browsers_leave_out() -> None:
    with override_settings(ALLOWED_HOSTS=["inbox.example.com"]):
        assert origin_allowed(scope("http://inbox.example.com", host="inbox.example.com:80"))
        assert origin_allowed(scope("https://inbox.example.com", host="inbox.example.com", scheme="wss"))
        assert not origin_allowed(scope("http://inbox.example.com", host="inbox.example.com", scheme="wss"))


def test_behind_a_tls_proxy_the_page_is_https() -> None:
    with override_settings(ALLOWED_HOSTS=["inbox.example.com"], SAMTALE_HTTPS=True):
        assert origin_allowed(scope("https://inbox.example.com", host="inbox.example.com"))
        assert not origin_allowed(scope("http://inbox.example.com", host="inbox.example.com"))
    proxied = scope("https://inbox.example.com", host="inbox.example.com", client="10.0.0.2")
    proxied["headers"].append((b"x-forwarded-proto", b"https"))
    with override_settings(ALLOWED_HOSTS=["inbox.example.com"], SAMTALE_TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert origin_allowed(proxied)
    with override_settings(ALLOWED_HOSTS=["inbox.example.com"], SAMTALE_TRUSTED_PROXIES=[]):
        assert not origin_allowed(proxied)  # anyone may send the header: only a trusted proxy is believed


def test_an_origin_the_administrator_trusts_may_open_it() -> None:
    with override_settings(CSRF_TRUSTED_ORIGINS=["https://app.example.com"]):
        assert origin_allowed(scope("https://app.example.com"))
        assert not origin_allowed(scope("http://app.example.com"))
