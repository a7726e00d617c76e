"""IMAP polling (E1): fetch new mail of a channel's mailbox into the same ingest path as SMTP.

The last seen UID and the folder's UIDVALIDITY are stored with each raw message in one
transaction, so a restart neither skips nor fetches twice; when UIDVALIDITY changes (the folder
was recreated) the whole folder is fetched again and Message-ID deduplication drops what is known.
Messages are read with BODY.PEEK[] and left on the server, unread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django.conf import settings
from django.db import close_old_connections, transaction
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from samtale.channels.email.connections import VettedIMAPClient, imap_problem
from samtale.channels.email.models import MailServer, RawEmail
from samtale.channels.email.store import store_raw
from samtale.core.clock import now
from samtale.core.egress import EgressError
from samtale.core.loops import Loop
from samtale.inbox import actions as inbox_actions

log = logging.getLogger(__name__)
BATCH = 50


def connect(server: MailServer, timeout: float = 30) -> IMAPClient:
    client = VettedIMAPClient(
        server.imap_host, port=server.imap_port, ssl=server.imap_security == "tls", timeout=timeout
    )
    if server.imap_security == "starttls":
        client.starttls()
    client.login(server.imap_username, server.imap_password)
    return client


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def poll(server: MailServer, client: IMAPClient | None = None) -> int:
    """Fetch everything new in the mailbox. Returns how many messages were stored."""
    own = client is None
    client = client or connect(server)
    try:
        info = client.select_folder(server.imap_folder, readonly=True)
        validity = int(info[b"UIDVALIDITY"])
        last = server.imap_last_uid if server.imap_uidvalidity == validity else 0
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        stored = 0
        for batch in _chunks(uids, BATCH):
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                data = fetched.get(uid, {}).get(b"BODY[]")
                if data is None:
                    continue
                with transaction.atomic():
                    store_raw([server.channel], bytes(data), source=RawEmail.Source.IMAP,
                              envelope_to=[server.channel.address])  # fmt: skip
                    MailServer.objects.filter(pk=server.pk).update(imap_uidvalidity=validity, imap_last_uid=uid)
                server.imap_uidvalidity, server.imap_last_uid = validity, uid
                stored += 1
        MailServer.objects.filter(pk=server.pk).update(imap_polled_at=now(), imap_error="", imap_uidvalidity=validity)
        inbox_actions.mark_channel_working(server.channel)
        return stored
    finally:
        if own:
            try:
                client.logout()
            except Exception:  # the connection may already be gone
                log.debug("IMAP logout failed", exc_info=True)


def _broken_if_refused(server: MailServer, exc: BaseException, problem: str) -> None:
    """A refused login (or an address the egress policy forbids) is the channel's problem until
    someone fixes its settings: marked broken. A network hiccup is not."""
    if isinstance(exc, (LoginError, EgressError)):
        inbox_actions.mark_channel_broken(server.channel, reason=f"IMAP: {problem}")


def configured() -> list[MailServer]:
    return list(MailServer.objects.exclude(imap_host="").select_related("channel__account"))


def poll_all() -> int:
    total = 0
    for server in configured():
        try:
            total += poll(server)
        except Exception as exc:
            log.warning("IMAP poll of channel %s failed: %s", server.channel_id, exc)
            problem = imap_problem(exc, server.imap_host, server.imap_port)
            _broken_if_refused(server, exc, problem)
            MailServer.objects.filter(pk=server.pk).update(imap_error=problem[:2000], imap_polled_at=now())
    return total


class Watchers:
    """One thread per mailbox: IDLE where the server offers it (new mail is fetched at once),
    otherwise a poll every SAMTALE_IMAP_POLL_SECONDS. Reconnects after errors, backing off.
    A supervised manager loop (`imap`) starts a watcher for each configured mailbox and starts it
    again if its thread ever ends."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.threads: dict[int, threading.Thread] = {}
        self.manager = Loop("imap", self._manage, every=30.0)

    def start(self) -> None:
        self.manager.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.manager.stop()

    def _manage(self) -> float | None:
        for server in configured():
            thread = self.threads.get(server.pk)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=self._watch, args=(server.pk,), daemon=True,
                                          name=f"samtale-imap-{server.pk}")  # fmt: skip
                self.threads[server.pk] = thread
                thread.start()
        return None

    def _watch(self, server_id: int) -> None:
        interval = settings.SAMTALE_IMAP_POLL_SECONDS
        failures = 0
        while not self.stop_event.is_set():
            try:
                server = MailServer.objects.select_related("channel").filter(pk=server_id).exclude(imap_host="").first()
                if server is None:
                    return
                client = connect(server)
                try:
                    poll(server, client)
                    idle = b"IDLE" in client.capabilities()
                    while not self.stop_event.is_set():
                        if idle:
                            client.idle()
                            responses = client.idle_check(timeout=min(interval * 5, 600))
                            client.idle_done()
                            if not any(isinstance(r, tuple) and r[1:2] == (b"EXISTS",) for r in responses):
                                continue
                        else:
                            self.stop_event.wait(interval)
                        server.refresh_from_db()
                        poll(server, client)
                finally:
                    try:
                        client.logout()
                    except Exception:
                        log.debug("IMAP logout failed", exc_info=True)
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("IMAP watcher of mail server %s: %s", server_id, exc)
                with contextlib.suppress(Exception):
                    row = MailServer.objects.filter(pk=server_id).values_list("imap_host", "imap_port").first()
                    problem = imap_problem(exc, *(row or ("", 0)))
                    _broken_if_refused(MailServer.objects.select_related("channel").get(pk=server_id), exc, problem)
                    MailServer.objects.filter(pk=server_id).update(imap_error=problem[:2000], imap_polled_at=now())
            finally:
                close_old_connections()
            self.stop_event.wait(min(interval * 2 ** min(failures, 4), 3600))
