"""One ingest path for every way mail arrives (SMTP, LMTP, IMAP): store the raw bytes durably,
then parse, classify and thread them into the inbox.

`store_raw` is what the listeners call before they acknowledge a message; `process_pending`
(run by the ingest loop in `samtale serve`/`samtale smtpd`/`samtale worker`) turns stored raw
messages into conversation messages. A raw message is marked done in the same transaction that
stores its message, so a crash in between leaves it pending and it is processed again; Message-ID
deduplication makes that safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from django.db import connection, transaction

from samtale.accounts.models import User
from samtale.core.clock import now
from samtale.core.html import text_to_html
from samtale.crm.actions import find_contact_by_email
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Channel, ChannelKind, Conversation, Direction, Message
from samtale.inbox.queries import messages_with_external_id
from samtale.mail.models import PENDING_INDEX, EmailReference, RawEmail
from samtale.mail.parse import ParsedEmail, Part, normalize_subject, parse_stream
from samtale.mail.quotes import split_html, split_text

log = logging.getLogger(__name__)

SUBJECT_FALLBACK_DAYS = 30


# ---------------------------------------------------------------- addresses and reply tokens


def base_address(address: str) -> str:
    """support+c12-ab34@acme.test -> support@acme.test"""
    local, _at, domain = address.strip().lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}" if local else address.strip().lower()


def _token_mac(conversation_id: int) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"reply:{conversation_id}".encode(), hashlib.sha256).hexdigest()[:10]


def reply_address(channel: Channel, conversation_id: int) -> str:
    """The conversation's own reply address: `support+c<id>-<mac>@domain` (C3 threading)."""
    local, _at, domain = channel.address.partition("@")
    return f"{local}+c{conversation_id}-{_token_mac(conversation_id)}@{domain}"


def conversation_from_token(addresses: Iterable[str]) -> int | None:
    for address in addresses:
        local = address.lower().partition("@")[0]
        tag = local.partition("+")[2]
        if not tag.startswith("c") or "-" not in tag:
            continue
        ident, _dash, mac = tag[1:].partition("-")
        if ident.isdigit() and hmac.compare_digest(mac, _token_mac(int(ident))):
            return int(ident)
    return None


def channels_for(addresses: Iterable[str]) -> dict[str, Channel]:
    """Connected email channels by (base) recipient address."""
    wanted = {base_address(a) for a in addresses}
    found = Channel.objects.filter(kind=ChannelKind.EMAIL, address__in=list(wanted)).select_related("account")
    return {c.address.lower(): c for c in found}


# ---------------------------------------------------------------- storing


_wake = threading.Event()
_stored_hooks: list[Callable[[], None]] = []


def on_stored(hook: Callable[[], None]) -> None:
    """Call `hook` after every commit of received mail (e.g. to wake an ingest process)."""
    _stored_hooks.append(hook)


def wake() -> None:
    """Stored mail is waiting: wake this process's ingest loop."""
    _wake.set()


_last_arrival = 0.0  # when this process last stored received mail (monotonic)


class _WriteGate:
    """SQLite has one writer, and a connection that finds the database locked polls with sleeps
    of up to 100 ms. The listener's commits and the ingest loop's transactions queue on a lock
    instead, which hands over at once: a thread lock within a process, and an exclusive `flock`
    on a file beside the database across processes (the listener and its ingest process).
    PostgreSQL locks rows: nothing to do there."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.path = ""
        self.fd: int | None = None

    def _file(self) -> int | None:
        name = str(connection.settings_dict["NAME"] or "")
        if not name or name.startswith("file:") or ":memory:" in name:
            return None  # an in-memory database belongs to this process alone
        if self.fd is None or self.path != name:
            if self.fd is not None:
                os.close(self.fd)
            self.fd = os.open(f"{name}.write-gate", os.O_RDWR | os.O_CREAT, 0o600)
            self.path = name
        return self.fd

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        if connection.vendor != "sqlite":
            yield
            return
        with self.lock:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)


_writing = _WriteGate()


def _mark_arrival() -> None:
    global _last_arrival
    _last_arrival = time.monotonic()


def _let_arrivals_in(quiet: float = 0.03, longest: float = 0.25) -> None:
    """Acknowledging mail comes before parsing it: while this process's listener is receiving,
    the ingest loop steps aside (the GIL and, on SQLite, the one write lock are shared), for at
    most `longest` seconds per message so processing keeps moving during a long burst. A separate
    `samtale worker` process never waits here."""
    deadline = time.monotonic() + longest
    while time.monotonic() - _last_arrival < quiet and time.monotonic() < deadline:
        time.sleep(quiet / 3)


@dataclass
class Incoming:
    """One received message on its way to storage: its bytes, or (when large) a spool file."""

    channels: list[Channel]
    content: bytes | Path
    source: str
    envelope_from: str = ""
    envelope_to: list[str] = field(default_factory=list)
    kept: str = ""  # the storage name once a spool file has been moved into storage


def store_raw(
    channels: Iterable[Channel], data: bytes, *, source: str, envelope_from: str = "", envelope_to: Iterable[str] = ()
) -> list[int]:
    """Commit the raw message, one row per channel it was addressed to. Only after this returns
    may the sender be told 250 (or IMAP move past the message)."""
    return store_batch([Incoming(list(channels), data, source, envelope_from, list(envelope_to))])[0]


def store_batch(batch: list[Incoming]) -> list[list[int]]:
    """Commit several received messages in one transaction (group commit: the listener collects
    what arrives while the previous commit runs). Large messages are moved from the spool into
    storage and synced to disk first. Returns the new row ids per message."""
    _mark_arrival()
    try:
        for item in batch:
            if isinstance(item.content, Path) and not item.kept:
                item.kept = keep_spooled(item.content)
        rows = [
            RawEmail(
                account_id=c.account_id, channel=c, source=item.source, envelope_from=item.envelope_from[:998],
                envelope_to=item.envelope_to, data=item.content if isinstance(item.content, bytes) else b"",
                file=item.kept, size=len(item.content) if isinstance(item.content, bytes) else storage_size(item.kept),
            )
            for item in batch
            for c in item.channels
        ]  # fmt: skip
        with _writing(), transaction.atomic():
            _insert(rows)
    finally:
        _mark_arrival()
    _wake.set()
    for hook in _stored_hooks:
        hook()
    ids = iter(row.pk for row in rows)
    return [[next(ids) for _c in item.channels] for item in batch]


def _insert(rows: list[RawEmail]) -> None:
    """Insert received messages, setting their ids. On PostgreSQL with server-side binding, so
    the message bytes travel as binary parameters: Django's client-side binding writes them into
    the SQL text as hex (twice the size, escaped here and parsed there), which made this insert
    3-4 times slower. Values are prepared by the model's own fields, as `bulk_create` would."""
    if connection.vendor != "postgresql":
        RawEmail.objects.bulk_create(rows)
        return
    import psycopg

    fields = [f for f in RawEmail._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(RawEmail._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id"  # noqa: S608 -- names from the model
    values = [[f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields] for row in rows]
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.executemany(sql, values, returning=True)
        for row in rows:
            fetched = cursor.fetchone()
            assert fetched is not None
            row.pk = fetched[0]
            row._state.adding = False
            cursor.nextset()


def _raw_storage() -> Storage:
    return RawEmail._meta.get_field("file").storage  # type: ignore[attr-defined,no-any-return]


def spool_directory() -> Path:
    """Where the listener writes large messages while they arrive: beside their final place,
    so keeping one is a rename."""
    storage = _raw_storage()
    base = Path(storage.path("mail")) if isinstance(storage, FileSystemStorage) else Path(settings.DATA_DIR)
    directory = base / "spool"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def keep_spooled(path: Path) -> str:
    """Move a spool file into raw-mail storage, durably (file and directory synced): the caller
    commits the row that names it and only then acknowledges the message."""
    storage = _raw_storage()
    name = f"mail/raw/{now():%Y/%m/%d}/{uuid.uuid4().hex}.eml"
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
        if not isinstance(storage, FileSystemStorage):
            name = storage.save(name, File(handle))
    if isinstance(storage, FileSystemStorage):
        target = Path(storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    else:
        path.unlink(missing_ok=True)
    return name


def storage_size(name: str) -> int:
    return int(_raw_storage().size(name))


# ---------------------------------------------------------------- processing


def process_pending(limit: int = 100) -> int:
    """Process up to `limit` pending raw messages, oldest first. Returns how many were handled."""
    done = 0
    shared = connection.vendor == "postgresql"  # several processes share the queue: claim rows
    while done < limit:
        parsed = None
        peek: RawEmail | None = None
        if not shared:  # SQLite: read and parse before taking the (database-wide) write lock
            peek = _next_pending(RawEmail.objects.filter(pk__in=_first_pending_sqlite()))
            if peek is None:
                break
            parsed = parse_raw(peek)
        _let_arrivals_in()
        with _writing(), transaction.atomic():
            query = RawEmail.objects.filter(state=RawEmail.State.PENDING)
            if shared:
                # The raw message is already durable: if a crash loses this commit, the message is
                # still pending and processed again. So the commit need not wait for the disk.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                # of=self: the joined channel, account and inbox rows must not be locked too (every
                # insert referencing them, e.g. the listener's, would wait for this transaction)
                raw = _next_pending(query.select_for_update(skip_locked=True, of=("self",)))
            else:  # already read and parsed: only make sure nobody processed it meanwhile
                assert peek is not None
                raw = peek if query.filter(pk=peek.pk).exists() else None
            if raw is None:
                if parsed is not None:
                    parsed.discard()
                if shared:
                    break
                continue
            try:
                with transaction.atomic():
                    parsed = parsed or parse_raw(raw)
                    message = process(raw, parsed)
            except Exception as exc:  # never lose it: keep it as a readable conversation
                log.exception("could not process raw email %s", raw.pk)
                message = _fallback(raw, f"{type(exc).__name__}: {exc}")
            finally:
                if parsed is not None:
                    parsed.discard()  # large parts are in storage now (or the transaction failed)
            if raw.state != RawEmail.State.FAILED:
                raw.state = RawEmail.State.DONE
            raw.message = message
            raw.save(update_fields=["state", "message", "error"])
        done += 1
    return done


def _first_pending_sqlite() -> list[int]:
    """The oldest pending id, from the partial index, named: SQLite's planner cannot use a
    partial index for a bound parameter, and with statistics from a young database it chose to
    walk another index and read every row (40 ms per message at 2,400 stored; 60 MB of mail)."""
    table = connection.ops.quote_name(RawEmail._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} INDEXED BY {PENDING_INDEX} WHERE state = 'pending' ORDER BY id LIMIT 1"  # noqa: S608 -- names from the model
        )
        return [row[0] for row in cursor.fetchall()]


def _next_pending(query: Any) -> RawEmail | None:
    return query.filter(state=RawEmail.State.PENDING).order_by("id").select_related("channel__account", "channel__inbox").first()  # type: ignore[no-any-return]  # fmt: skip


def process(raw: RawEmail, parsed: ParsedEmail | None = None) -> Message | None:
    parsed = parsed or parse_raw(raw)
    if parsed.broken:
        raw.error = parsed.broken[:2000]
    channel = raw.channel
    if parsed.bounce is not None and (failed := _apply_bounce(channel, parsed)) is not None:
        return failed
    return _deliver_to_inbox(channel, raw, parsed)


def _apply_bounce(channel: Channel, parsed: ParsedEmail) -> Message | None:
    assert parsed.bounce is not None
    original = next(
        iter(
            messages_with_external_id(channel.account_id, parsed.bounce.original_message_id)
            .filter(direction=Direction.OUTBOUND)
            .select_related("conversation")[:1]
        ),
        None,
    )
    if original is None:
        return None
    reason = parsed.bounce.reason
    if parsed.bounce.recipient:
        reason = f"{parsed.bounce.recipient}: {reason}"
    from samtale.mail.outbound import mark_failed

    mark_failed(original, f"Bounced ({parsed.bounce.status}) {reason}".strip())
    return original


def _teammate(channel: Channel, address: str) -> User | None:
    """A member of the account sending from their own mail client (CC'd/BCC'd to the inbox)."""
    if not address:
        return None
    return (
        User.objects.filter(
            email__iexact=address,
            is_active=True,
            membership__account_id=channel.account_id,
            membership__deactivated_at=None,
            membership__removed_at=None,
        )
        .select_related("membership")
        .first()
    )


def find_conversation(
    channel: Channel, parsed: ParsedEmail, sender: str, envelope_to: Iterable[str]
) -> Conversation | None:
    """The conversation a message belongs to, or None for a new one. In order: In-Reply-To,
    References (most recent first), a message that already refers to this one (its reply came
    first), the reply token in our address, then the same contact's recent conversation with the
    same subject. Never outside the channel's account."""
    account_id = channel.account_id
    live = Conversation.objects.filter(account_id=account_id)
    for ref in [*parsed.in_reply_to, *reversed(parsed.references)]:
        hit = next(iter(messages_with_external_id(account_id, ref).values_list("conversation_id", flat=True)[:1]), None)
        if hit is not None:
            return live.get(pk=hit)
    if parsed.message_id:
        child = next(
            iter(
                EmailReference.objects.filter(account_id=account_id, ref=parsed.message_id)
                .order_by()
                .values_list("message__conversation_id", flat=True)[:1]
            ),
            None,
        )
        if child is not None:
            return live.get(pk=child)
    token = conversation_from_token([*parsed.to, *parsed.cc, *parsed.delivered_to, *envelope_to])
    if token is not None:
        found = live.filter(pk=token).first()
        if found is not None:
            return found
    subject = normalize_subject(parsed.subject)
    contact = find_contact_by_email(account_id, sender) if subject and sender else None
    if contact is not None:
        since = now() - timedelta(days=SUBJECT_FALLBACK_DAYS)
        candidates = (
            live.filter(inbox_id=channel.inbox_id, contact=contact, trashed_at=None, last_activity_at__gte=since)
            .order_by("-last_activity_at", "-id")
            .only("id", "subject")[:20]
        )
        for conversation in candidates:
            if normalize_subject(conversation.subject) == subject:
                return conversation
    return None


def _no_id_key(parsed: ParsedEmail, raw: RawEmail) -> str:
    """A stable id for mail without a Message-ID, so a retried delivery is still stored once:
    a digest of sender, subject, date and body (read in chunks: the body may be 50 MB)."""
    digest = hashlib.sha256(b"\0".join([parsed.from_address.encode(), parsed.subject.encode(), str(parsed.date).encode(), b""]))  # fmt: skip
    with raw.open() as handle:
        head = handle.read(1 << 20)
        body = head.partition(b"\r\n\r\n")[2] or head.partition(b"\n\n")[2] or head
        digest.update(body)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"noid-{digest.hexdigest()[:32]}@samtale.invalid"


def parse_raw(raw: RawEmail) -> ParsedEmail:
    with raw.open() as handle:
        return parse_stream(handle, raw.size)


def _source_part(raw: RawEmail) -> Part:
    """The original message as an attachment (for mail that could not be read)."""
    storage = _raw_storage()
    if raw.file and isinstance(storage, FileSystemStorage):
        return Part("original.eml", "message/rfc822", b"", path=Path(storage.path(str(raw.file.name))))
    return Part("original.eml", "message/rfc822", raw.read())


def _deliver_to_inbox(channel: Channel, raw: RawEmail, parsed: ParsedEmail) -> Message:
    external_id = parsed.message_id or _no_id_key(parsed, raw)
    sender = parsed.from_address or (base_address(raw.envelope_from) if "@" in raw.envelope_from else "")
    author = _teammate(channel, sender)
    if author is not None and not _is_own_channel(sender):
        recipients = [a for a in [*parsed.to, *parsed.cc] if base_address(a) not in _channel_addresses(channel)]
    else:
        author, recipients = None, []
    conversation = find_conversation(channel, parsed, sender, raw.envelope_to)
    text_main, text_quoted = split_text(parsed.text) if parsed.text else ("", "")
    html_main, html_quoted = split_html(parsed.html) if parsed.html else ("", "")
    if parsed.html and not html_quoted and text_quoted:
        html_main = ""  # prefer the trimmed plain text when only it could be split
    quoted = html_quoted or (text_to_html(text_quoted) if text_quoted and not parsed.html else "")
    attachments: list[Part] = list(parsed.attachments)
    if parsed.broken and not parsed.text and not parsed.html:
        attachments.append(_source_part(raw))
    message = inbox_actions.receive_inbound(
        channel,
        inbox_actions.InboundMessage(
            sender_address=sender,
            sender_name=parsed.from_name,
            text=parsed.text or "",
            html=html_main if parsed.html and html_main else (text_to_html(text_main) if text_quoted else parsed.html),
            quoted_html=quoted,
            subject=parsed.subject or "",
            external_id=external_id,
            received_at=raw.received_at,
            conversation=conversation,
            auto_reply=parsed.auto_reply,
            attachments=attachments,
            author=author,
            recipients=recipients,
        ),
    )
    refs = [*parsed.in_reply_to, *parsed.references]
    if refs and not message.email_references.exists():
        EmailReference.objects.bulk_create(
            [EmailReference(account_id=channel.account_id, message=message, ref=r[:998]) for r in dict.fromkeys(refs)]
        )
    return message


def _channel_addresses(channel: Channel) -> set[str]:
    return {a.lower() for a in Channel.objects.filter(account_id=channel.account_id, kind=ChannelKind.EMAIL).values_list("address", flat=True)}  # fmt: skip


def _is_own_channel(address: str) -> bool:
    return Channel.objects.filter(kind=ChannelKind.EMAIL, address__iexact=base_address(address)).exists()


def _fallback(raw: RawEmail, error: str) -> Message | None:
    """Processing failed: the message still becomes a conversation, with its source attached."""
    raw.error = error[:2000]
    try:
        with transaction.atomic():
            return inbox_actions.receive_inbound(
                raw.channel,
                inbox_actions.InboundMessage(
                    sender_address=base_address(raw.envelope_from) if "@" in raw.envelope_from else "",
                    subject="(unreadable message)",
                    text="This message could not be read. Its original source is attached.",
                    external_id=f"raw-{raw.pk}@samtale.invalid",
                    received_at=raw.received_at,
                    attachments=[_source_part(raw)],
                ),
            )
    except Exception as exc:
        log.exception("could not store raw email %s even as a fallback", raw.pk)
        raw.state = RawEmail.State.FAILED
        raw.error = f"{error}; fallback: {exc}"[:2000]
        return None


class IngestLoop:
    """Processes stored mail as it arrives (woken by `store_raw`), and sweeps every few seconds
    for anything left pending (e.g. after a crash)."""

    def __init__(self, sweep: float = 2.0) -> None:
        self.sweep = sweep
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="samtale-mail-ingest", daemon=True)

    def _run(self) -> None:
        from django.db import close_old_connections

        while not self.stop_event.is_set():
            _wake.wait(self.sweep)
            _wake.clear()
            try:
                while not self.stop_event.is_set() and process_pending(10):
                    pass
            except Exception:
                log.exception("mail ingest failed; retrying")
                self.stop_event.wait(1.0)
            finally:
                close_old_connections()

    def start(self) -> None:
        self.thread.start()

    def stop(self, wait: float = 0.0) -> None:
        """Stop after the message being processed (waiting up to `wait` seconds for that)."""
        self.stop_event.set()
        _wake.set()
        if wait and self.thread.is_alive():
            self.thread.join(wait)


class IngestProcess:
    """The ingest loop in a child process (`samtale ingest --child`) at a lower CPU priority, for
    the listener's process: parsing mail (tens of milliseconds of Python per message) then never
    holds the listener's GIL, and the OS gives the listener the CPU first, so a burst is
    acknowledged at the listener's full speed and parsed right behind it.

    The listener wakes the child through a pipe after each commit. The child exits when that pipe
    closes, which also happens when this process dies (even by kill -9), and is started again if
    it dies on its own. Whatever it leaves pending is picked up by the next sweep."""

    NICENESS = 10

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="samtale-mail-ingest-watch", daemon=True)
        self.lock = threading.Lock()

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "samtale.cli", "ingest", "--child", "--nice", str(self.NICENESS)]
        # SQLite: no memory-mapped reads here. Parsing writes, and reads only a few indexed rows;
        # mapped pages of the database file (which grows by every message) would count in this
        # process's RSS for nothing.
        env = {"SAMTALE_SQLITE_MMAP_BYTES": "0", **os.environ}
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
        assert proc.stdin is not None
        os.set_blocking(proc.stdin.fileno(), False)
        with self.lock:
            self.proc = proc

    def start(self) -> None:
        self._spawn()
        on_stored(self.wake)
        self.watcher.start()

    def wake(self) -> None:
        with self.lock:
            pipe = self.proc.stdin if self.proc is not None else None
            if pipe is None or pipe.closed:
                return
            # full pipe: the child has wakes unread; broken: it is being restarted. Either way it looks.
            with contextlib.suppress(OSError):
                os.write(pipe.fileno(), b"w")

    def _watch(self) -> None:
        while not self.stopping.is_set():
            assert self.proc is not None
            code = self.proc.wait()
            if self.stopping.is_set():
                break
            log.error("mail ingest process exited (%s); starting it again", code)
            if self.stopping.wait(1.0):
                break
            self._spawn()

    def stop(self, wait: float = 30.0) -> None:
        self.stopping.set()
        with self.lock:
            proc = self.proc
            if proc is None:
                return
            if proc.stdin is not None:
                proc.stdin.close()  # the child finishes the message it is on and exits
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_child(niceness: int) -> int:
    """`samtale ingest --child`: the ingest loop until stdin closes; each byte read is a wake-up."""
    if niceness:
        os.nice(niceness)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes our pipe

    def terminate(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    loop = IngestLoop()
    loop.start()
    try:
        while os.read(0, 4096):
            _mark_arrival()  # the parent is receiving: on SQLite, step aside (`_let_arrivals_in`)
            _wake.set()
    finally:
        loop.stop(wait=30.0)
    return 0
