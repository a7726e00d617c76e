"""One writer at a time on SQLite, handed over at once (see `WriteGate`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator

from django.db import connection


class WriteGate:
    """SQLite has one writer, and a connection that finds the database locked polls with sleeps
    of up to 100 ms (under load, writers wait hundreds of ms for a lock free most of that time).
    Busy write paths (the mail listener's commits, the ingest loop, chat messages from widget
    sockets) queue on a lock instead, which hands over at once: a thread lock within a process,
    and an exclusive `flock` on a file beside the database across processes (the listener and its
    ingest process). Take it outside the transaction, around the whole of it, and never while
    holding it wait for another thread that writes. PostgreSQL locks rows: nothing to do there."""

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


writing = WriteGate()
