"""The channel layer of a single process (no Redis configured).

Channels' `InMemoryChannelLayer` sweeps every channel and every group for expired messages on
each send and receive: with 1,000 widget sockets open, each message paid for a walk over all of
them. Here the sweep runs at most once a second (a message's expiry is a minute; being swept a
second late changes nothing). Group memberships do not expire either: a socket keeps its groups
until it closes, so an agent's tab left open for days still gets every event (upstream drops a
membership after a day). A dead socket's channel is still dropped from its groups as soon as a
message for it expires.
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer


class LocalChannelLayer(InMemoryChannelLayer):  # type: ignore[misc]
    SWEEP_EVERY = 1.0  # seconds

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._next_sweep = 0.0

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
