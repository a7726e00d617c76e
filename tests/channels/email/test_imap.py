"""IMAP polling against a real Dovecot on loopback: no message skipped or fetched twice across
restarts and UIDVALIDITY changes; IDLE brings new mail at once."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from imapclient import IMAPClient

from samtale.channels.email.imap import Watchers, poll, poll_all
from samtale.channels.email.ingest import process_pending
from samtale.channels.email.models import MailServer, RawEmail
from samtale.inbox.models import Message
from tests.channels.email.conftest import mail
from tests.channels.email.dovecot import Dovecot
from tests.conftest import World

USER, PASSWORD = "support@acme.test", "imap-secret"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    # not under pytest's tmp dir: its parents are private, and Dovecot's processes run as `dovecot`
    tmp = Path(tempfile.mkdtemp(prefix="samtale-dovecot-"))
    server = Dovecot(tmp, {USER: PASSWORD})
    yield server
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(autouse=True)
def _loopback_allowed() -> Iterator[None]:
    """Dovecot listens on loopback, which the egress policy refuses unless allowed."""
    with override_settings(SAMTALE_EGRESS_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        yield


@pytest.fixture
def mailbox(dovecot: Dovecot, world_tx: World) -> Iterator[tuple[IMAPClient, MailServer]]:
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.login(USER, PASSWORD)
    folder = f"Test{time.time_ns()}"
    client.create_folder(folder)
    server = MailServer.objects.create(
        channel=world_tx.email, imap_host="127.0.0.1", imap_port=dovecot.port, imap_security="none",
        imap_username=USER, imap_password=PASSWORD, imap_folder=folder,
    )  # fmt: skip
    yield client, server
    client.logout()


def append(client: IMAPClient, folder: str, n: int) -> None:
    client.append(folder, mail(f"IMAP {n}", f"body {n}", Message_ID=f"<imap-{n}@example.com>").as_bytes())


def stored_subjects() -> list[str]:
    process_pending(1000)
    return sorted(m.conversation.subject for m in Message.objects.select_related("conversation"))


def test_poll_fetches_each_message_once_across_restarts(mailbox: Any) -> None:
    client, server = mailbox
    for n in range(3):
        append(client, server.imap_folder, n)
    assert poll(server) == 3
    assert poll(MailServer.objects.get(pk=server.pk)) == 0  # a restart reads the saved UID
    append(client, server.imap_folder, 3)
    assert poll(MailServer.objects.get(pk=server.pk)) == 1
    assert stored_subjects() == ["IMAP 0", "IMAP 1", "IMAP 2", "IMAP 3"]
    assert RawEmail.objects.filter(source="imap").count() == 4
    client.select_folder(server.imap_folder, readonly=True)
    assert client.search(["UNSEEN"]) and len(client.search(["UNSEEN"])) == 4  # left unread on the server


def test_a_new_uidvalidity_refetches_without_duplicates(mailbox: Any) -> None:
    client, server = mailbox
    append(client, server.imap_folder, 10)
    append(client, server.imap_folder, 11)
    poll(server)
    client.delete_folder(server.imap_folder)  # the folder is recreated: new UIDVALIDITY, UIDs restart
    client.create_folder(server.imap_folder)
    append(client, server.imap_folder, 10)
    append(client, server.imap_folder, 11)
    append(client, server.imap_folder, 12)
    server = MailServer.objects.get(pk=server.pk)
    assert poll(server) == 3
    assert stored_subjects() == ["IMAP 10", "IMAP 11", "IMAP 12"]  # known ones dropped by Message-ID


def test_a_failing_mailbox_records_the_error(mailbox: Any) -> None:
    _client, server = mailbox
    MailServer.objects.filter(pk=server.pk).update(imap_password="wrong")
    assert poll_all() == 0
    assert "auth" in MailServer.objects.get(pk=server.pk).imap_error.lower()


def test_idle_brings_new_mail_at_once(mailbox: Any, settings: Any) -> None:
    client, server = mailbox
    settings.SAMTALE_IMAP_POLL_SECONDS = 60  # IDLE, not the poll interval, must deliver it
    watchers = Watchers()
    watchers.start()
    try:
        time.sleep(1.5)  # connected and idling
        append(client, server.imap_folder, 20)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not RawEmail.objects.filter(source="imap").exists():
            time.sleep(0.1)
        assert RawEmail.objects.filter(source="imap").count() == 1
    finally:
        watchers.stop()
    assert stored_subjects() == ["IMAP 20"]
