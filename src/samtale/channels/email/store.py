"""Storing received mail durably, before the sender is told 250 (or IMAP moves past it).

`store_raw`/`store_batch` commit the raw bytes (large messages as a synced file) as `RawEmail`
rows; the ingest queue (`mail.ingest`) turns them into conversations afterwards.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from django.db import connection, transaction

from samtale.channels.email.models import RawEmail
from samtale.core.clock import now
from samtale.core.writes import writing
from samtale.inbox.models import Channel

_stored_hooks: list[Callable[[], None]] = []


def on_stored(hook: Callable[[], None]) -> None:
    """Call `hook` after every commit of received mail (to wake an ingest loop or process)."""
    _stored_hooks.append(hook)


def off_stored(hook: Callable[[], None]) -> None:
    with contextlib.suppress(ValueError):
        _stored_hooks.remove(hook)


def wake() -> None:
    """Stored mail is waiting: wake this process's ingest loop (or process)."""
    for hook in list(_stored_hooks):
        hook()


_last_arrival = 0.0  # when this process last stored received mail (monotonic)


def mark_arrival() -> None:
    global _last_arrival
    _last_arrival = time.monotonic()


def arriving(quiet: float = 0.03) -> bool:
    """This process's listener received mail in the last `quiet` seconds."""
    return time.monotonic() - _last_arrival < quiet


def let_arrivals_in(quiet: float = 0.03, longest: float = 0.25) -> None:
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
    mark_arrival()
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
        with writing(), transaction.atomic():
            _insert(rows)
    finally:
        mark_arrival()
    wake()
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


def raw_storage() -> Storage:
    return RawEmail._meta.get_field("file").storage


def spool_directory() -> Path:
    """Where the listener writes large messages while they arrive: beside their final place,
    so keeping one is a rename."""
    storage = raw_storage()
    base = Path(storage.path("mail")) if isinstance(storage, FileSystemStorage) else Path(settings.DATA_DIR)
    directory = base / "spool"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def keep_spooled(path: Path) -> str:
    """Move a spool file into raw-mail storage, durably (file and directory synced): the caller
    commits the row that names it and only then acknowledges the message."""
    storage = raw_storage()
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
    return int(raw_storage().size(name))
