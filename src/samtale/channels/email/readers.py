"""Reading mail on the machine's other core: a reader process parses and sanitizes the next batch
of claimed messages while the ingest loop stores the current one.

Parsing and sanitizing a 25 KB message is most of what ingesting it costs in Python; the writes
after it are the rest. With one process doing both, one core waits while the other works. The
reader is a child process (its own interpreter: it shares nothing with its parent but the
database) that loads the claimed raw messages, reads them exactly as the ingest loop would
(`ingest._read`) and sends back what it read; large parts stay in the temporary files it wrote,
which the ingest loop stores and removes.

Nothing depends on the reader: if it dies (a message that crashes the parser, an OOM kill) or
cannot start, the batch is read in the ingest process as before, and the reader is started
again for the next one. It exits when its parent does (its pipe closes). Off with
`SAMTALE_INGEST_READER=0`, and where the database is in memory (the reader could not see it).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

Result = list[tuple[int, Any, Any, str]]  # (raw id, ParsedEmail | None, InboundMessage | None, error)


class Reader:
    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.waiting: list[int] | None = None  # ids sent, result not yet received
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _start(self) -> bool:
        # its own interpreter (not multiprocessing's spawn, which re-imports the parent's main
        # module): `python -m samtale.channels.email.readers`, talking over a socket pair
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "samtale.channels.email.readers", str(theirs.fileno()),
                   str(settings.DATABASES["default"]["NAME"])]  # fmt: skip
        try:
            process = subprocess.Popen(command, pass_fds=[theirs.fileno()], env=os.environ.copy())
        except Exception:
            log.exception("could not start the mail reader process; reading in the ingest process")
            ours.close()
            return False
        finally:
            theirs.close()
        self.process, self.conn = process, Connection(ours.detach())
        return True

    def submit(self, ids: list[int]) -> bool:
        """Send claimed message ids to read; False: not sent (read them here)."""
        with self.lock:
            if self.waiting is not None:
                return False
            if not self.alive() and not self._start():
                return False
            assert self.conn is not None
            try:
                self.conn.send(ids)
            except (OSError, ValueError):
                self._lost("could not send to it")
                return False
            self.waiting = ids
            return True

    def result(self) -> Result | None:
        """What the reader read of the ids last submitted; None if it failed (read them here)."""
        with self.lock:
            if self.waiting is None or self.conn is None:
                return None
            self.waiting = None
            try:
                found: Result = self.conn.recv()
                return found
            except (EOFError, OSError) as exc:
                self._lost(f"{type(exc).__name__}")
                return None

    def _lost(self, why: str) -> None:
        log.error("the mail reader process was lost (%s); reading this batch here and starting it again", why)
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn, self.waiting = None, None, None

    def stop(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()  # the reader sees its pipe close and exits
            if self.process is not None:
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process, self.conn, self.waiting = None, None, None


def enabled() -> bool:
    name = str(settings.DATABASES["default"]["NAME"])
    in_memory = connection.vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name)
    return bool(settings.SAMTALE_INGEST_READER) and not in_memory


_readers: dict[int, Reader] = {}


def reader() -> Reader | None:
    """This thread's reader (one per ingest loop), or None when reading stays in-process."""
    if not enabled():
        return None
    ident = threading.get_ident()
    if ident not in _readers:
        _readers[ident] = Reader()
    return _readers[ident]


def stop_all() -> None:
    for one in list(_readers.values()):
        one.stop()
    _readers.clear()


def main(conn: Connection, database: str) -> None:
    """The reader process: read what is asked until the pipe closes."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samtale.settings")
    import django

    settings.DATABASES["default"]["NAME"] = database  # the parent's database (a test run's, too)
    django.setup()
    from samtale.channels.email.ingest import read_many

    while True:
        try:
            ids = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            conn.send(read_many(ids))
        except OSError:
            return
        finally:
            connection.close_if_unusable_or_obsolete()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes our pipe
    os.nice(5)  # below its ingest loop (itself below the listener): acknowledging mail comes first
    main(Connection(int(sys.argv[1])), sys.argv[2])
