"""One consistent view of the database for a page that reads several things.

Outside a transaction every query sees the database as of its own start, so a page that reads the
calendar feed's state and then (while rendering) its out-of-office rows could show a sync's rows
with the state from before it ("Waiting for the first sync…" beside the synced event). Inside
`read_snapshot()` every query sees the same moment: PostgreSQL with a read-only REPEATABLE READ
transaction, SQLite with a deferred read transaction (WAL: it blocks no writer)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection, transaction


@contextlib.contextmanager
def read_snapshot() -> Iterator[None]:
    if connection.in_atomic_block:  # already inside a transaction: it is the snapshot there is
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield
        return
    if connection.vendor == "sqlite":
        # Django opens SQLite transactions IMMEDIATE (a write lock): this one only reads.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")
        return
    yield
