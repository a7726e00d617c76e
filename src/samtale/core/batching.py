"""A batch: many arrivals stored in one write transaction (the mail ingest's batches).

Inside `batch()`, the write path's parts share what they would otherwise look up once per message
(`memo`: routing's candidates and turns, a channel's addresses…) and add up what they would
otherwise write once per message (`on_flush`: audit rows in one INSERT, routing turns, counters),
written when the batch ends, still inside its transaction. Outside a batch every helper behaves
as it always did: a batch is an optimisation of the same writes, never a different result.

A batch that fails is rolled back whole by its caller, which then stores its messages one at a
time (each in a savepoint); so nothing in a batch catches errors to go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
_state = threading.local()


class Batch:
    def __init__(self) -> None:
        self.memo: dict[Any, Any] = {}
        self.flushers: dict[str, Callable[[], object]] = {}

    def remember(self, key: Any, make: Callable[[], Any]) -> Any:
        """What `make` returns, made once per batch."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    def add(self, name: str, item: T, write: Callable[[list[T]], object]) -> None:
        """Keep `item` for one `write(items)` of everything added under `name` when the batch ends."""
        items: list[T] = self.remember(("items", name), list)
        items.append(item)
        self.on_flush(name, lambda: write(items))

    def on_flush(self, name: str, flush: Callable[[], object]) -> None:
        """Run `flush` when the batch ends (once per name; in the order first registered)."""
        self.flushers.setdefault(name, flush)

    def flush(self) -> None:
        # a flusher may register another (routing's turns count assignments, audit rows follow)
        done: set[str] = set()
        while pending := [name for name in self.flushers if name not in done]:
            for name in pending:
                done.add(name)
                self.flushers[name]()


def current() -> Batch | None:
    return getattr(_state, "batch", None)


@contextmanager
def batch() -> Iterator[Batch]:
    """Inside the caller's transaction. Nested batches join the outer one."""
    outer = current()
    if outer is not None:
        yield outer
        return
    _state.batch = Batch()
    try:
        yield _state.batch
        ending = _state.batch
    finally:
        _state.batch = None
    ending.flush()
