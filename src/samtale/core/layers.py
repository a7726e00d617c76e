"""The channel layer of a single process (no Redis configured).

Channels' `InMemoryChannelLayer` sweeps every channel and every group for expired messages on
each send and receive: with 1,000 widget sockets open, each message paid for a walk over all of
them. Here the sweep runs at most once a second (a message's expiry is a minute; being swept a
second late changes nothing). Group memberships do not expire either: a socket keeps its groups
until it closes, so an agent's tab left open for days still gets every event (upstream drops a
membership after a day). A dead socket's channel is still dropped from its groups as soon as a
message for it expires.

When `samtale serve` runs several web processes without Redis, every group message is also handed
to the others through the parent's hub (`core.hub`), and what they send is delivered here.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from channels.layers import InMemoryChannelLayer

from samtale.core import hub


class LocalChannelLayer(InMemoryChannelLayer):  # type: ignore[misc]
    SWEEP_EVERY = 1.0  # seconds

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._next_sweep = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        hub.on_frame("event", self._from_hub)

    async def group_add(self, group: str, channel: str) -> None:
        self._loop = asyncio.get_running_loop()  # where messages from other processes are delivered
        await super().group_add(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await super().group_send(group, message)
        if hub.active():
            hub.send({"kind": "event", "group": group, "message": message})

    def _from_hub(self, frame: dict[str, Any]) -> None:
        loop, group, message = self._loop, str(frame.get("group")), frame.get("message")
        if loop is None or loop.is_closed() or not isinstance(message, dict) or group not in self.groups:
            return  # nobody here listens to it

        def deliver() -> None:
            loop.create_task(InMemoryChannelLayer.group_send(self, group, message))

        loop.call_soon_threadsafe(deliver)

    def _clean_expired(self) -> None:
        moment = time.time()
        if moment < self._next_sweep:
            return
        self._next_sweep = moment + self.SWEEP_EVERY
        for channel, queue in list(self.channels.items()):
            while not queue.empty() and queue._queue[0][0] < moment:
                queue.get_nowait()
                self._remove_from_groups(channel)
                if queue.empty():  # (an empty queue someone waits on is left alone)
                    self.channels.pop(channel, None)
