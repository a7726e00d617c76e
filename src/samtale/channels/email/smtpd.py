"""The SMTP (and LMTP) listener: accepts mail for connected email channels only, enforces the size
limit, and answers 250 only after the raw message is committed (`store.store_batch`).

DATA is read in blocks, not lines, and written to a `Spool`: kept in memory up to
`SPOOL_MEMORY_BYTES`, streamed to a file beyond that, so a 50 MB message costs the listener a
few hundred kilobytes. One writer thread commits what every connection has received in one
transaction (group commit), so many concurrent senders share a commit instead of queueing for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

from samtale.channels.email import store
from samtale.channels.email.addresses import base_address
from samtale.channels.email.inbound import channels_for
from samtale.channels.email.models import RawEmail
from samtale.core.metrics import SMTP_REPLIES
from samtale.inbox.models import Channel

log = logging.getLogger(__name__)

SPOOL_MEMORY_BYTES = 1024 * 1024
READ_BLOCK = 256 * 1024
BATCH = 64
END = b".\r\n"


class _Channels:
    """Recipient address -> channel, remembered for a short while: every accepted message would
    otherwise look its channel up twice (RCPT and DATA). Unknown addresses are always asked
    again, so a newly connected channel receives mail at once; a removed one within TTL seconds."""

    TTL = 30.0

    def __init__(self) -> None:
        self.known: dict[str, tuple[float, Channel]] = {}
        self.lock = threading.Lock()

    def cached(self, address: str) -> Channel | None:
        entry = self.known.get(base_address(address))
        return entry[1] if entry and time.monotonic() - entry[0] < self.TTL else None

    def get(self, addresses: list[str]) -> dict[str, Channel]:
        wanted = {base_address(a) for a in addresses}
        at = time.monotonic()
        with self.lock:
            found = {a: e[1] for a in wanted if (e := self.known.get(a)) and at - e[0] < self.TTL}
        missing = wanted - found.keys()
        if missing:
            fresh = channels_for(missing)
            with self.lock:
                for address, channel in fresh.items():
                    self.known[address] = (at, channel)
            found.update(fresh)
        return found

    def lookup(self, addresses: list[str]) -> dict[str, Channel]:
        """`get` from a pool thread (for RCPT), whose connection may have gone stale meanwhile."""
        close_old_connections()
        return self.get(addresses)


class Spool:
    """A message as it arrives: bytes in memory up to `memory`, then a file in the spool directory."""

    def __init__(self, memory: int = SPOOL_MEMORY_BYTES) -> None:
        self.memory = memory
        self.buffer = bytearray()
        self.file: Any = None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.file is None:
            self.buffer += chunk
            if len(self.buffer) <= self.memory:
                return
            self.file = tempfile.NamedTemporaryFile(dir=store.spool_directory(), suffix=".eml", delete=False)  # noqa: SIM115
            chunk, self.buffer = bytes(self.buffer), bytearray()
        self.file.write(chunk)

    def content(self) -> bytes | Path:
        """The message: its bytes, or the path of its (flushed, not yet synced) spool file."""
        if self.file is None:
            return bytes(self.buffer)
        self.file.close()
        return Path(self.file.name)

    def discard(self) -> None:
        self.buffer = bytearray()
        if self.file is not None:
            self.file.close()
            Path(self.file.name).unlink(missing_ok=True)
            self.file = None


async def read_data(
    reader: asyncio.StreamReader, spool: Spool, limit: int | None, progress: Callable[[], None] | None = None
) -> bool:
    """Read DATA up to the lone "." line into `spool`, undoing dot-stuffing (RFC 5321 4.5.2).
    Blocks end at every ".\\r\\n" (a possible end) or at the reader's buffer limit; bytes after the
    end stay in the reader for the next command. Past `limit` the data is dropped but still read
    to its end. `progress` is called after each block (the session's timeout starts again).
    Returns whether the data fits the limit."""
    carry = b""  # an incomplete line, kept until its end arrives
    mid_line = False  # whether `carry` (or the next block) continues a line already written

    def emit(out: bytes) -> None:
        nonlocal mid_line
        if not mid_line and out.startswith(b"."):
            out = out[1:]
        out = out.replace(b"\r\n.", b"\r\n")
        if limit is None or spool.size + len(out) <= limit:
            spool.write(out)
        else:
            spool.discard()
            spool.size = limit + 1
        mid_line = not out.endswith(b"\r\n")

    while True:
        try:
            block = await reader.readuntil(END)
            complete = True
        except asyncio.LimitOverrunError as exc:  # no end in a full buffer: take what is there
            block = await reader.readexactly(exc.consumed)
            complete = False
        if progress is not None:
            progress()
        data = carry + block
        carry = b""
        if complete and ((data == END and not mid_line) or data.endswith(b"\r\n" + END)):
            body = data[: -len(END)]
            if body:
                emit(body)
            return limit is None or spool.size <= limit
        cut = data.rfind(b"\r\n") + 2
        if cut >= 2:
            emit(data[:cut])
            carry = data[cut:]
        else:
            carry = data
        if len(carry) > READ_BLOCK:  # a very long line: write it out, keeping a trailing CR
            keep = 1 if carry.endswith(b"\r") else 0
            emit(carry[: len(carry) - keep])
            carry = carry[len(carry) - keep :]


class _Writer:
    """Commits received messages. Connections hand their message over and wait; the thread takes
    everything queued at that moment and commits it in one transaction."""

    def __init__(self, channels: _Channels) -> None:
        self.channels = channels
        self.queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[list[int]], Any] | None] = (
            queue.SimpleQueue()
        )
        self.thread = threading.Thread(target=self._run, name="samtale-smtpd-writer", daemon=True)
        self.thread.start()

    def submit(self, rcpts: list[str], content: bytes | Path, source: str, mail_from: str) -> asyncio.Future[list[int]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self.queue.put((loop, future, (rcpts, content, source, mail_from)))
        return future

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(5)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                break
            jobs = [first]
            while len(jobs) < BATCH:
                try:
                    job = self.queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self.queue.put(None)
                    break
                jobs.append(job)
            self._commit(jobs)
        close_old_connections()

    def _incoming(self, rcpts: list[str], content: bytes | Path, source: str, mail_from: str) -> store.Incoming:
        channels = self.channels.get(rcpts)
        targets = {base_address(r): channels[b] for r in rcpts if (b := base_address(r)) in channels}
        return store.Incoming(list(targets.values()), content, source, mail_from, rcpts)

    def _commit(self, jobs: list[Any]) -> None:
        results: list[list[int] | BaseException] = []
        incoming: list[store.Incoming | BaseException] = []
        try:
            self._connect()
            incoming = [self._incoming(*job[2]) for job in jobs]
            results = list(store.store_batch(incoming))  # type: ignore[arg-type]
        except Exception:
            log.exception("could not store %d messages together; storing them one by one", len(jobs))
            self._disconnect()
            if len(incoming) != len(jobs):
                incoming = [self._incoming_or_error(job[2]) for job in jobs]
            results = [self._store_one(item) for item in incoming]
        for (loop, future, _job), result in zip(jobs, results, strict=True):
            loop.call_soon_threadsafe(_settle, future, result)

    def _connect(self) -> None:
        """This thread keeps its database connection (opening one per commit cost more than the
        commit), set up once: on SQLite its commits are the 250s, so they are synced to disk."""
        if connection.connection is not None:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA synchronous=FULL")

    def _disconnect(self) -> None:
        """After a failed commit, start again on a new connection: the old one may be broken (the
        server restarted, the handle closed), and SQLite's `is_usable` cannot tell."""
        try:
            connection.close()
        except Exception:
            log.exception("closing the listener's database connection failed")

    def _incoming_or_error(self, job: tuple[list[str], bytes | Path, str, str]) -> store.Incoming | BaseException:
        try:
            return self._incoming(*job)
        except Exception as exc:
            return exc

    def _store_one(self, item: store.Incoming | BaseException) -> list[int] | BaseException:
        if isinstance(item, BaseException):
            return item
        try:
            self._connect()
            return store.store_batch([item])[0]  # a spool file already kept is not moved again
        except Exception as exc:
            log.exception("could not store a message")
            return exc


def _settle(future: asyncio.Future[list[int]], result: list[int] | BaseException) -> None:
    if future.done():  # the connection went away meanwhile; the message is stored all the same
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class Handler:
    def __init__(self, source: str, channels: _Channels, writer: _Writer) -> None:
        self.source = source
        self.channels = channels
        self.writer = writer

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        known = self.channels.cached(address) is not None
        if not known:
            try:
                found = await sync_to_async(self.channels.lookup, thread_sensitive=False)([address])
            except Exception:
                log.exception("recipient lookup failed")
                return "451 4.3.0 Temporary failure, try again later"
            known = base_address(address) in found
        if not known:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def store(self, envelope: Envelope, spool: Spool) -> str:
        content = spool.content()
        try:
            ids = await self.writer.submit(list(envelope.rcpt_tos), content, self.source, envelope.mail_from or "")
        except Exception:
            if isinstance(content, Path):
                content.unlink(missing_ok=True)
            return "451 4.3.0 Could not store the message, try again later"
        if not ids:
            return "550 5.1.1 No valid recipients"
        return "250 2.0.0 OK: stored"


_open: Counter[str] = Counter()  # SMTP sessions per client address (the listener's one event loop)


class Receiver(SMTP):
    """aiosmtpd's SMTP with DATA read in blocks into a spool instead of line by line into memory,
    at most SAMTALE_SMTP_MAX_CONNECTIONS_PER_ADDRESS sessions per client address (the others are
    told 421 and closed), and SAMTALE_SMTP_TIMEOUT_SECONDS for each command and each block of DATA
    (a message of many blocks may take longer in all; one that stops is cut off)."""

    counted_as = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if address and not self.lmtp and not self.counted_as and self.transport is None:
            if _open[address] >= settings.SAMTALE_SMTP_MAX_CONNECTIONS_PER_ADDRESS:
                log.warning("SMTP: refused a session from %s: %d open already", address, _open[address])
                SMTP_REPLIES.labels("421").inc()
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(b"421 4.7.0 Too many connections from your address, try again later\r\n")
                transport.close()
                return
            _open[address] += 1
            self.counted_as = address
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.session is None:  # refused in connection_made: nothing was started
            return
        if self.counted_as:
            _open[self.counted_as] -= 1
            if _open[self.counted_as] <= 0:
                del _open[self.counted_as]
            self.counted_as = ""
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self.session is None:
            return False
        return super().eof_received()

    async def push(self, status: AnyStr) -> None:
        code = status[:3] if isinstance(status, str) else status[:3].decode("ascii", "replace")
        SMTP_REPLIES.labels(code).inc()
        await super().push(status)

    # The stream reader's buffer limit (aiosmtpd sizes it by this): DATA arrives in blocks of up
    # to this size. Command lines keep their own limits (`command_size_limit`).
    line_length_limit = READ_BLOCK
    lmtp = False

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        spool = Spool()
        try:
            fits = await read_data(self._reader, spool, self.data_size_limit, progress=self._reset_timeout)
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            spool.discard()
            log.info("connection lost during DATA")
            raise
        if not fits:
            spool.discard()
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("552 5.3.4 Error: message exceeds the size limit")
            return
        status = await self.event_handler.store(self.envelope, spool)
        # LMTP answers once per accepted recipient (RFC 2033 4.2): all were stored together.
        replies = len(self.envelope.rcpt_tos) if self.lmtp else 1
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        for _n in range(replies):
            await self.push(status)


class LmtpReceiver(Receiver, LMTP):
    lmtp = True


def _factory(kind: str, channels: _Channels, writer: _Writer) -> Any:
    limit = settings.SAMTALE_MAX_MESSAGE_BYTES
    if kind == "lmtp":
        return lambda: LmtpReceiver(Handler(RawEmail.Source.LMTP, channels, writer), data_size_limit=limit,
                                    enable_SMTPUTF8=True, timeout=settings.SAMTALE_SMTP_TIMEOUT_SECONDS)  # fmt: skip
    return lambda: Receiver(
        Handler(RawEmail.Source.SMTP, channels, writer), data_size_limit=limit, enable_SMTPUTF8=True, hostname="samtale",
        timeout=settings.SAMTALE_SMTP_TIMEOUT_SECONDS,
    )  # fmt: skip


def _clear_spool(older_than: float = 3600.0) -> None:
    """Spool files of messages a crash cut off (never acknowledged, so the sender retries)."""
    directory = store.spool_directory()
    for path in directory.glob("*.eml"):
        try:
            if time.time() - path.stat().st_mtime > older_than:
                os.unlink(path)
        except OSError:
            continue


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
        self.writer: _Writer | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        assert self.writer is not None
        try:
            self.servers.append(
                self.loop.run_until_complete(
                    self.loop.create_server(_factory("smtp", self.channels, self.writer), self.host, self.smtp_port)
                )
            )
            if self.lmtp_port:
                self.servers.append(
                    self.loop.run_until_complete(
                        self.loop.create_server(_factory("lmtp", self.channels, self.writer), self.host, self.lmtp_port)
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
        # The listener's event loop releases the GIL at every socket call and must get it back
        # from CPU-bound threads (mail ingest, web views); Python's default 5 ms switch interval
        # then costs it up to 5 ms each time. 0.5 ms keeps the SMTP sessions moving.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
        _clear_spool()
        self.writer = _Writer(self.channels)
        self.thread.start()
        self.ready.wait(10)
        if self.error is not None:
            self.writer.stop()
            raise RuntimeError(f"SMTP listener could not start on {self.host}:{self.smtp_port}: {self.error}")
        log.debug("SMTP listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            for server in self.servers:
                server.close()
            sessions = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in sessions:
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

        if self.thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
            except Exception:
                log.exception("SMTP listener did not shut down cleanly")
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        if self.writer is not None:
            self.writer.stop()
