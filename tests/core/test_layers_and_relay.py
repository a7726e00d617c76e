"""The single-process channel layer and the event relay of a server process."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from django.test import override_settings

from samtale.core import events
from samtale.core.layers import LocalChannelLayer

LAYERS = {"default": {"BACKEND": "samtale.core.layers.LocalChannelLayer"}}


def test_memberships_last_while_the_socket_lives_and_a_dead_channel_is_dropped() -> None:
    async def scenario() -> None:
        layer = LocalChannelLayer(expiry=1)
        alive, dead = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("inbox.1", alive)
        await layer.group_add("inbox.1", dead)
        layer.groups["inbox.1"][alive] -= 10 * 86400  # joined ten days ago: upstream would drop it
        await layer.group_send("inbox.1", {"type": "x", "n": 1})
        assert (await layer.receive(alive))["n"] == 1
        await asyncio.sleep(1.1)  # the dead channel's message expires; the next sweep drops it
        layer._next_sweep = 0.0
        await layer.group_send("inbox.1", {"type": "x", "n": 2})
        assert set(layer.groups["inbox.1"]) == {alive}
        assert (await layer.receive(alive))["n"] == 2

    asyncio.run(scenario())


class CountingDict(dict[str, Any]):
    walks = 0

    def items(self) -> Any:
        type(self).walks += 1
        return super().items()


def test_the_sweep_runs_at_most_once_a_second() -> None:
    async def scenario() -> int:
        layer = LocalChannelLayer()
        for _ in range(50):
            await layer.group_add("g", await layer.new_channel())
        layer.channels = CountingDict(layer.channels)
        for n in range(200):  # upstream walks every channel on each of these (and each receive)
            await layer.group_send("g", {"type": "x", "n": n})
        return CountingDict.walks

    assert 1 <= asyncio.run(scenario()) <= 2


@override_settings(CHANNEL_LAYERS=LAYERS)
def test_events_from_threads_are_published_by_the_loop_in_order_without_waiting() -> None:
    from channels.layers import channel_layers

    async def scenario() -> tuple[list[int], float]:
        channel_layers.backends.clear()
        layer = channel_layers["default"]
        name = await layer.new_channel()
        await layer.group_add("inbox.9", name)
        events.relay.bind()
        slowest = 0.0

        def commit_many() -> None:
            nonlocal slowest
            for n in range(100):
                started = time.perf_counter()
                events._send(events.Event(type="t", groups=("inbox.9",), data={"n": n}))
                slowest = max(slowest, time.perf_counter() - started)

        threads = [threading.Thread(target=commit_many)]
        for t in threads:
            t.start()
        got = [(await asyncio.wait_for(layer.receive(name), 5))["payload"]["n"] for _ in range(100)]
        for t in threads:
            t.join()
        return got, slowest

    try:
        got, slowest = asyncio.run(scenario())
    finally:
        channel_layers.backends.clear()
        events.relay.loop = events.relay.queue = None
    assert got == list(range(100))
    assert slowest < 0.5  # (never blocked on the loop: the loop was waiting on this thread's events)


def test_without_a_running_loop_events_are_published_in_the_calling_thread() -> None:
    seen: list[Any] = []
    events._listeners.append(seen.append)
    try:
        loop = asyncio.new_event_loop()
        events.relay.loop = loop  # bound once, then the server stopped: not running
        events._send(events.Event(type="t", groups=(), data={}))
        assert not events.relay.offer("g", {"type": "samtale.event", "payload": {}})
        loop.close()
    finally:
        events._listeners.remove(seen.append)
        events.relay.loop = None
    assert len(seen) == 1


class Broken(LocalChannelLayer):  # type: ignore[misc]
    """A layer whose first publish fails (Redis went away for a moment)."""

    failed = False

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if not Broken.failed:
            Broken.failed = True
            raise ConnectionError("layer down")
        await super().group_send(group, message)


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": f"{__name__}.Broken"}})
def test_a_failed_publish_does_not_stop_the_relay() -> None:
    from channels.layers import channel_layers

    async def scenario() -> list[str]:
        channel_layers.backends.clear()
        layer = channel_layers["default"]
        name = await layer.new_channel()
        await layer.group_add("g", name)
        relay = events.Relay()
        relay.bind()
        assert relay.offer("g", {"type": "samtale.event", "payload": {"event": "lost"}})
        assert relay.offer("g", {"type": "samtale.event", "payload": {"event": "next"}})
        message = await asyncio.wait_for(layer.receive(name), 5)
        return [message["payload"]["event"]]

    try:
        assert asyncio.run(scenario()) == ["next"]
    finally:
        channel_layers.backends.clear()
