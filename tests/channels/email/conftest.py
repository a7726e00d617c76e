"""Mail fixtures: the real SMTP listener on a loopback port, and a real local SMTP server that
captures (or refuses) what Samtale sends."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from samtale.channels.email.ingest import process_pending
from samtale.channels.email.smtpd import Listener


def send(listener: Listener, raw: bytes | EmailMessage, rcpt: str | list[str] = "support@acme.test",
         sender: str = "kunde@example.com") -> dict[str, tuple[int, bytes]]:  # fmt: skip
    """Send over SMTP like a real client; returns the refused recipients."""
    data = raw.as_bytes(policy=policy.SMTP) if isinstance(raw, EmailMessage) else raw
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
        return client.sendmail(sender, rcpt, data)


def deliver(listener: Listener, raw: bytes | EmailMessage, **kw: Any) -> None:
    send(listener, raw, **kw)
    process_pending(1000)


def mail(subject: str = "Help", body: str = "Hello", sender: str = "Kari Kunde <kunde@example.com>",
         to: str = "support@acme.test", **headers: str) -> EmailMessage:  # fmt: skip
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


@dataclass
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class Outbox:
    """A real SMTP server on loopback that keeps what it receives; `refuse` makes it answer a
    recipient with a given reply instead."""

    messages: list[Captured] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(Captured(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 queued as 42"


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    from tests.e2e.conftest import free_port

    box = Outbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    with override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=box.port, EMAIL_USE_TLS=False, EMAIL_USE_SSL=False,
                           SAMTALE_EMAIL_RETRY_SECONDS="0,0"):  # fmt: skip
        yield box
    controller.stop()
