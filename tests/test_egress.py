"""One egress policy for every connection to an address a user gave: resolved once, private and
local networks refused (unless configured), connected at the vetted address (no DNS rebinding),
and never an echo of what the remote end said."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from samtale.availability import actions as availability_actions
from samtale.availability.calendar import CalendarError, fetch
from samtale.channels.email.actions import configure_mail_server
from samtale.channels.email.imap import poll_all
from samtale.channels.email.models import MailServer
from samtale.core import egress
from tests.conftest import World


class Listener:
    """A TCP service on loopback that records who connects and answers with a secret banner."""

    def __init__(self, banner: bytes) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.banner = banner
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                conn.sendall(self.banner)
                conn.recv(1024)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def internal() -> Iterator[Listener]:
    service = Listener(b"* OK SECRET-INTERNAL-BANNER redis_version:7\r\n")
    yield service
    service.close()


REFUSED = ["127.0.0.1", "169.254.169.254", "10.0.0.7", "::1", "0.0.0.0", "[::ffff:127.0.0.1]"]  # noqa: S104 -- refused hosts


@pytest.mark.parametrize("host", REFUSED)
def test_a_channel_server_on_a_private_address_is_refused_in_settings(world: World, host: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        configure_mail_server(world.email, acting_user=world.admin, smtp_host=host.strip("[]"), smtp_port=25)
    assert "not allowed" in str(refused.value) or "not valid" in str(refused.value)
    assert not MailServer.objects.filter(smtp_host=host).exists()


def test_a_name_that_resolves_to_loopback_is_refused_when_connecting(world: World, internal: Listener) -> None:
    configure_mail_server(
        world.email, acting_user=world.admin, imap_host="localhost", imap_port=internal.port,
        imap_security="none", imap_username="u", imap_password="p",
    )  # fmt: skip
    poll_all()
    server = MailServer.objects.get(channel=world.email)
    assert "private or local network" in server.imap_error
    assert internal.connections == 0


def test_errors_never_repeat_what_the_remote_end_said(world: World, internal: Listener) -> None:
    with override_settings(SAMTALE_EGRESS_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        configure_mail_server(
            world.email, acting_user=world.admin, imap_host="127.0.0.1", imap_port=internal.port,
            imap_security="none", imap_username="u", imap_password="p",
        )  # fmt: skip
        poll_all()
    error = MailServer.objects.get(channel=world.email).imap_error
    assert internal.connections >= 1 and error
    assert "SECRET" not in error and "redis" not in error


def test_the_connection_goes_to_the_address_that_was_vetted(
    monkeypatch: pytest.MonkeyPatch, internal: Listener
) -> None:
    """DNS rebinding: the name answers a public address when checked and loopback after. One
    resolution per connection, and the socket connects to exactly what it vetted."""
    answers = iter(["192.0.2.10", "127.0.0.1", "127.0.0.1"])  # TEST-NET-1: public-looking, routes nowhere
    real = socket.getaddrinfo

    def rebinding(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(egress, "allowed", lambda a: not a.is_loopback)  # 192.0.2.0/24 counts as public here
    with pytest.raises(egress.EgressError):
        egress.connect("rebind.example", internal.port, timeout=0.5)
    assert internal.connections == 0


def test_a_feed_is_checked_on_every_connection_including_redirects(world: World, internal: Listener) -> None:
    with pytest.raises(CalendarError) as refused:
        fetch(f"http://localhost:{internal.port}/cal.ics", timeout=2)
    assert "private or local network" in str(refused.value) and internal.connections == 0


def test_a_feed_error_says_the_status_only(world: World) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(500, "SECRET internal reason")
            self.end_headers()
            self.wfile.write(b"SECRET body")

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        with override_settings(SAMTALE_EGRESS_ALLOWED_NETWORKS=["127.0.0.0/8"]), pytest.raises(CalendarError) as failed:
            fetch(f"http://127.0.0.1:{http.server_address[1]}/cal.ics", timeout=5)
    finally:
        http.shutdown()
    assert str(failed.value) == "The feed answered HTTP 500."


def test_a_host_label_of_300_characters_is_a_clear_error(world: World) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        availability_actions.configure_calendar(
            world.agent, acting_user=world.agent, url="http://" + "a" * 300 + ".example/x.ics"
        )
    assert "not valid" in str(refused.value)


def test_the_api_refuses_a_metadata_address_for_a_mail_server(world: World) -> None:
    r = Client().put(
        f"/api/v1/channels/{world.email.pk}/mail-server",
        {"smtp_host": "169.254.169.254", "smtp_port": 80},
        content_type="application/json",
        headers={"Authorization": f"Bearer {world.token(world.admin)}"},
    )
    assert r.status_code == 400 and "not allowed" in r.json()["detail"]
