"""Real-time events: published by actions after commit, relayed to browsers by consumers.

An event names its recipients as channel-layer groups (an inbox, a user, an account);
the browser receives the event and refetches the fragments it names.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from samtale.core import batching, hub

log = logging.getLogger(__name__)

# Tests subscribe here to see what an action published.
_listeners: list[Any] = []


def inbox_group(inbox_id: int) -> str:
    return f"inbox.{inbox_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def account_group(account_id: int) -> str:
    return f"account.{account_id}"


@dataclass(frozen=True)
class Event:
    type: str
    groups: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"event": self.type, **self.data}


class Relay:
    """Hands events from the threads that commit writes to the server's event loop, in order,
    without waiting: a thread used to block on `async_to_sync` until the loop had published each
    event (≈1 ms, and longer while the loop was busy), holding on to whatever it held (SQLite's
    write turn). One task on the loop publishes them in the order they were committed. Bound by
    the server process when its loop starts; elsewhere (the worker, commands, tests without a
    server) events are published in the calling thread as before."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self.task: asyncio.Task[None] | None = None

    def bind(self) -> None:
        """Call on the event loop (from any coroutine); binding again is a no-op."""
        loop = asyncio.get_running_loop()
        if self.loop is loop and self.task is not None and not self.task.done():
            return
        self.loop, self.queue = loop, asyncio.Queue()
        self.task = loop.create_task(self._publish())

    async def _publish(self) -> None:
        assert self.queue is not None
        queue = self.queue
        while True:
            group, message = await queue.get()
            layer = get_channel_layer()
            try:
                if layer is not None:
                    await layer.group_send(group, message)
            except Exception:  # one failed publish never stops the rest
                log.exception("could not publish %s to %s", message["payload"].get("event"), group)

    def offer(self, group: str, message: dict[str, Any]) -> bool:
        """Queue for the loop; False when there is no running loop in another thread to take it."""
        loop, queue = self.loop, self.queue
        if loop is None or queue is None or loop.is_closed() or not loop.is_running():
            return False
        try:
            if asyncio.get_running_loop() is loop:
                queue.put_nowait((group, message))
                return True
        except RuntimeError:
            pass  # not on a loop: a thread
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (group, message))
        except RuntimeError:  # closed meanwhile
            return False
        return True


relay = Relay()


def _send(event: Event) -> None:
    _send_all([event])


def _send_all(batch: list[Event]) -> None:
    """Publish events in order. What the server's loop can take is handed to it (`relay`); the
    rest goes out in one hop to a loop, not one per event and group. Groups of a channel layer
    local to this process that nobody here joined are skipped: no one can be listening (unless
    other processes of this server share events through the hub, `core.hub`)."""
    layer = get_channel_layer()
    outgoing: list[tuple[str, dict[str, Any]]] = []
    for event in batch:
        for listener in list(_listeners):
            listener(event)
        if layer is None:
            continue
        message = {"type": "samtale.event", "payload": event.payload()}
        for group in event.groups:
            if isinstance(layer, InMemoryChannelLayer) and group not in layer.groups and not hub.active():
                continue
            if not relay.offer(group, message):
                outgoing.append((group, message))
    if not outgoing:
        return

    async def send() -> None:
        for group, message in outgoing:
            try:
                await layer.group_send(group, message)
            except Exception:  # a broken channel layer must never undo a committed write
                log.exception("could not publish %s to %s", message["payload"]["event"], group)

    try:
        async_to_sync(send)()
    except Exception:
        log.exception("could not publish %d events", len(outgoing))


def publish_on_commit(event: Event) -> None:
    scope = batching.current()
    if scope is None:
        transaction.on_commit(lambda: _send(event), robust=True)
        return
    # in a batch: every event of the batch is published after its commit, together
    scope.add("events", event, lambda events: transaction.on_commit(lambda: _send_all(events), robust=True))


def event_as_dict(event: Event) -> dict[str, Any]:
    return asdict(event)


ACCESS_CHANGED = "access.changed"  # the user's groups must be recomputed (or the socket closed)
SESSION_CHANGED = "session.changed"  # the user's password changed: sockets close, stale sessions stay out


def access_changed(user_id: int) -> Event:
    return Event(type=ACCESS_CHANGED, groups=(user_group(user_id),), data={"user_id": user_id})


def session_changed(user_id: int) -> Event:
    return Event(type=SESSION_CHANGED, groups=(user_group(user_id),), data={"user_id": user_id})
