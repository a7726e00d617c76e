from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_local = threading.local()


def now() -> datetime:
    """The one source of "now" (UTC). Seeding (the demo, benchmarks) may set it explicitly."""
    override = getattr(_local, "at", None)
    return override if override is not None else timezone.now()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run actions as of `moment` (used to seed realistic history, never by request code)."""
    previous = getattr(_local, "at", None)
    _local.at = moment
    try:
        yield
    finally:
        _local.at = previous
