"""The SMTP listener's answer to clients that hold it: a few sessions per client address, a
deadline for each command and each block of DATA (but not for a long message that keeps coming)."""

from __future__ import annotations

import smtplib
import socket
import time
from typing import Any

import pytest
from django.test import override_settings

from samtale.channels.email.models import RawEmail
from tests.conftest import World


def test_one_address_holds_only_so_many_sessions(listener: Any) -> None:
    with override_settings(SAMTALE_SMTP_MAX_CONNECTIONS_PER_ADDRESS=3):
        held = [smtplib.SMTP("127.0.0.1", listener.port, timeout=5) for _ in range(3)]
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", listener.port, timeout=5)
        assert refused.value.smtp_code == 421 and b"Too many connections" in refused.value.smtp_error
        held.pop().quit()
        deadline = time.monotonic() + 5
        while True:  # its place is given back as soon as the listener has seen it go
            try:
                again = smtplib.SMTP("127.0.0.1", listener.port, timeout=5)
                break
            except smtplib.SMTPConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert again.noop()[0] == 250
        for session in [*held, again]:
            session.quit()


def test_a_silent_session_is_closed_after_the_timeout(listener: Any) -> None:
    with override_settings(SAMTALE_SMTP_TIMEOUT_SECONDS=1):
        sock = socket.create_connection(("127.0.0.1", listener.port))
        sock.settimeout(10)
        started = time.monotonic()
        assert sock.recv(1024).startswith(b"220")
        while sock.recv(1024):
            pass
        assert 0.8 <= time.monotonic() - started <= 6
        sock.close()


def test_a_long_message_that_keeps_coming_is_not_cut_off_but_one_that_stops_is(world_tx: World, listener: Any) -> None:
    with override_settings(SAMTALE_SMTP_TIMEOUT_SECONDS=1):
        client = smtplib.SMTP("127.0.0.1", listener.port, timeout=10)
        client.ehlo()
        client.mail("kunde@example.com")
        client.rcpt("support@acme.test")
        code, _ = client.docmd("DATA")
        assert code == 354
        client.send(b"Subject: slow\r\nFrom: kunde@example.com\r\nTo: support@acme.test\r\n\r\n")
        for n in range(5):  # 3 s in all, never 1 s without a block
            client.send(f"Part {n} of a long message.\r\n".encode())
            time.sleep(0.6)
        client.send(b".\r\n")
        code, _ = client.getreply()
        assert code == 250
        client.quit()
        assert RawEmail.objects.filter(envelope_from="kunde@example.com").count() == 1

        stalled = smtplib.SMTP("127.0.0.1", listener.port, timeout=10)
        stalled.ehlo()
        stalled.mail("kunde@example.com")
        stalled.rcpt("support@acme.test")
        assert stalled.docmd("DATA")[0] == 354
        stalled.send(b"Subject: stalled\r\n\r\nand then nothing.\r\n")
        started = time.monotonic()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            stalled.getreply()
        assert time.monotonic() - started < 5  # closed by the listener, not the client's 10 s
