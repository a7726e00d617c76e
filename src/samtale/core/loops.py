"""Long-running loops that cannot die: the worker, the scheduler, mail ingest, IMAP watchers.

A `Loop` calls its `step` over and over on a thread of its own. An exception in a step (a
"database is locked", a lost connection, a bug hit by one odd input) is logged, the loop backs
off (1 s, doubling, at most `MAX_BACKOFF`) and carries on; it never ends until it is stopped.
Every iteration beats a heartbeat, kept in this process (`beats()`) and written to the database
now and then (`Heartbeat`), so `/readyz`, `/metrics` and the admins' notice can tell a loop that
is alive from one that is stuck or gone, whichever process runs it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import close_old_connections

from samtale.core.clock import now

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
PERSIST_EVERY = 10.0  # seconds between heartbeat rows written by one loop
STALE_AFTER = timedelta(seconds=90)  # a loop whose newest heartbeat is older is not alive

Step = Callable[[], float | None]


@dataclass
class Beat:
    name: str
    at: float = 0.0  # monotonic
    started: float = field(default_factory=time.monotonic)
    iterations: int = 0
    failures: int = 0  # consecutive
    total_failures: int = 0
    restarts: int = 0
    last_error: str = ""


_beats: dict[str, Beat] = {}
_lock = threading.Lock()


def beats() -> dict[str, Beat]:
    """The loops of this process, by name."""
    with _lock:
        return dict(_beats)


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Loop:
    """Runs `step()` until stopped; `step` returns how long to wait before the next call (None: the
    loop's `every`). `wake()` cuts a wait short."""

    def __init__(self, name: str, step: Step, *, every: float = 1.0, persist: bool = True) -> None:
        self.name = name
        self.step = step
        self.every = every
        self.persist = persist
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self.beat = Beat(name)
        self.persisted_at = 0.0
        self.thread: threading.Thread | None = None

    def start(self) -> Loop:
        with _lock:
            _beats[self.name] = self.beat
        self.thread = threading.Thread(target=self._run, name=f"samtale-{self.name}", daemon=True)
        self.thread.start()
        return self

    def wake(self) -> None:
        self.wake_event.set()

    def stop(self, wait: float = 0.0) -> None:
        self.stop_event.set()
        self.wake_event.set()
        if wait and self.thread is not None and self.thread.is_alive():
            self.thread.join(wait)
        with _lock:
            if _beats.get(self.name) is self.beat:
                del _beats[self.name]

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            delay: float | None
            try:
                delay = self.step()
                self.beat.failures = 0
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)) and self.stop_event.is_set():
                    break
                self.beat.failures += 1
                self.beat.total_failures += 1
                self.beat.last_error = f"{type(exc).__name__}: {exc}"[:500]
                delay = min(MAX_BACKOFF, 2.0 ** (self.beat.failures - 1))
                log.exception("%s failed (%d in a row); again in %.0f s", self.name, self.beat.failures, delay)
            finally:
                close_old_connections()
            self._beat()
            if self.wake_event.wait(self.every if delay is None else delay):
                self.wake_event.clear()

    def _beat(self) -> None:
        self.beat.at = time.monotonic()
        self.beat.iterations += 1
        if not self.persist or self.beat.at - self.persisted_at < PERSIST_EVERY:
            return
        self.persisted_at = self.beat.at
        try:
            record_heartbeat(self.beat)
        except Exception:  # the next beat tries again; liveness shows the gap
            log.warning("could not record the heartbeat of %s", self.name, exc_info=True)
        finally:
            close_old_connections()


def record_heartbeat(beat: Beat) -> None:
    from samtale.core.models import Heartbeat

    Heartbeat.objects.update_or_create(
        name=beat.name,
        process=process_id(),
        defaults={
            "beat_at": now(),
            "failures": beat.failures,
            "total_failures": beat.total_failures,
            "last_error": beat.last_error,
        },
    )


def silent(names: list[str], *, within: timedelta = STALE_AFTER) -> list[str]:
    """Those of `names` no process has beaten a heartbeat of recently (one query: the table
    holds a row per process and loop)."""
    from samtale.core.models import Heartbeat

    beating = list(Heartbeat.objects.filter(beat_at__gte=now() - within).values_list("name", flat=True))
    return [name for name in names if not any(b.startswith(name) for b in beating)]


def alive(name: str, *, within: timedelta = STALE_AFTER) -> bool:
    """Has any process beaten `name`'s heartbeat recently?"""
    from samtale.core.models import Heartbeat

    return Heartbeat.objects.filter(name__startswith=name, beat_at__gte=now() - within).exists()
