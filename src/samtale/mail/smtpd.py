"""The SMTP (and LMTP) listener: accepts mail for connected email channels only, enforces the size
limit, and answers 250 only after the raw message is committed (`ingest.store_raw`)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from samtale.inbox.models import Channel
from samtale.mail import ingest
from samtale.mail.models import RawEmail

log = logging.getLogger(__name__)


class _Channels:
    """Recipient address -> channel, remembered for a short while: every accepted message would
    otherwise look its channel up twice (RCPT and DATA). Unknown addresses are always asked
    again, so a newly connected channel receives mail at once; a removed one within TTL seconds."""

    TTL = 30.0

    def __init__(self) -> None:
        self.known: dict[str, tuple[float, Channel]] = {}
        self.lock = threading.Lock()

    def get(self, addresses: list[str]) -> dict[str, Channel]:
        wanted = {ingest.base_address(a) for a in addresses}
        at = time.monotonic()
        with self.lock:
            found = {a: e[1] for a in wanted if (e := self.known.get(a)) and at - e[0] < self.TTL}
        missing = wanted - found.keys()
        if missing:
            close_old_connections()
            fresh = ingest.channels_for(missing)
            with self.lock:
                for address, channel in fresh.items():
                    self.known[address] = (at, channel)
            found.update(fresh)
        return found


def _known(channels: _Channels, address: str) -> bool:
    return ingest.base_address(address) in channels.get([address])


def _store(known: _Channels, rcpts: list[str], data: bytes, source: str, mail_from: str) -> int:
    close_old_connections()
    channels = known.get(rcpts)
    targets = {
        ingest.base_address(r): channels[ingest.base_address(r)] for r in rcpts if ingest.base_address(r) in channels
    }
    return len(ingest.store_raw(targets.values(), data, source=source, envelope_from=mail_from, envelope_to=rcpts))


class Handler:
    def __init__(self, source: str, channels: _Channels) -> None:
        self.source = source
        self.channels = channels

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            known = await sync_to_async(_known, thread_sensitive=False)(self.channels, address)
        except Exception:
            log.exception("recipient lookup failed")
            return "451 4.3.0 Temporary failure, try again later"
        if not known:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            stored = await sync_to_async(_store, thread_sensitive=False)(
                self.channels, list(envelope.rcpt_tos), data, self.source, envelope.mail_from or ""
            )
        except Exception:
            log.exception("could not store a message")
            return "451 4.3.0 Could not store the message, try again later"
        if not stored:
            return "550 5.1.1 No valid recipients"
        return "250 2.0.0 OK: stored"


def _factory(kind: str, channels: _Channels) -> Any:
    limit = settings.SAMTALE_MAX_MESSAGE_BYTES
    if kind == "lmtp":
        return lambda: LMTP(Handler(RawEmail.Source.LMTP, channels), data_size_limit=limit, enable_SMTPUTF8=True)
    return lambda: SMTP(
        Handler(RawEmail.Source.SMTP, channels), data_size_limit=limit, enable_SMTPUTF8=True, hostname="samtale"
    )


class Listener:
    """SMTP (and optionally LMTP) servers on their own event loop thread."""

    def __init__(self, host: str, smtp_port: int, lmtp_port: int = 0) -> None:
        self.host, self.smtp_port, self.lmtp_port = host, smtp_port, lmtp_port
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="samtale-smtpd", daemon=True)
        self.servers: list[asyncio.base_events.Server] = []
        self.channels = _Channels()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.servers.append(
                self.loop.run_until_complete(
                    self.loop.create_server(_factory("smtp", self.channels), self.host, self.smtp_port)
                )
            )
            if self.lmtp_port:
                self.servers.append(
                    self.loop.run_until_complete(
                        self.loop.create_server(_factory("lmtp", self.channels), self.host, self.lmtp_port)
                    )
                )
        except BaseException as exc:
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        self.loop.run_forever()

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])

    def start(self) -> Listener:
        self.thread.start()
        self.ready.wait(10)
        if self.error is not None:
            raise RuntimeError(f"SMTP listener could not start on {self.host}:{self.smtp_port}: {self.error}")
        log.debug("SMTP listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        def shutdown() -> None:
            for server in self.servers:
                server.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(shutdown)
        self.thread.join(5)
