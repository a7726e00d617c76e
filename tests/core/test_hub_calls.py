"""The hub answers a web process's calls (the installation's rate-limit counts live in the parent),
and a parent that is gone or never answers costs the caller a bounded wait, not a hang."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from samtale.core import hub, ratelimit


@pytest.fixture
def parent() -> Iterator[hub.Hub]:
    server = hub.Hub()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_web_process_counts_in_the_parent_through_its_connection(parent: hub.Hub) -> None:
    one, two = hub._Client(parent.path), hub._Client(parent.path)  # two web processes
    key = f"k-{uuid.uuid4().hex}"
    frame = {"kind": "ratelimit", "op": "hits", "limits": [[key, "3/m"]]}
    answers = [one.call(frame, 2.0), two.call(frame, 2.0), one.call(frame, 2.0), two.call(frame, 2.0)]
    assert answers == [True, True, True, False]
    assert ratelimit.hit(key, "3/m") is False  # the parent itself counts in the same place
    for _ in range(3):
        one.call({"kind": "ratelimit", "op": "fail", "key": key, "free": 2}, 2.0)
    assert two.call({"kind": "ratelimit", "op": "backoff", "key": key}, 2.0) == 1


def test_a_call_nobody_answers_is_an_error_not_a_relay(parent: hub.Hub) -> None:
    client = hub._Client(parent.path)
    with pytest.raises(hub.HubUnavailable, match="nothing answers"):
        client.call({"kind": "no-such-kind"}, 2.0)
    with pytest.raises(hub.HubUnavailable, match="unknown rate-limit operation"):
        client.call({"kind": "ratelimit", "op": "drop tables"}, 2.0)


def test_a_parent_that_is_gone_fails_calls_at_once(parent: hub.Hub) -> None:
    client = hub._Client(parent.path)
    assert client.call({"kind": "ratelimit", "op": "backoff", "key": "x"}, 2.0) == 0
    parent.stop()
    deadline = time.monotonic() + 5
    while not client.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(hub.HubUnavailable):
        client.call({"kind": "ratelimit", "op": "backoff", "key": "x"}, 30.0)
    assert time.monotonic() - started < 5  # not the 30 s the caller was ready to wait


def test_a_parent_that_does_not_answer_in_time_fails_the_call(parent: hub.Hub) -> None:
    started = {"kind": "slow"}
    hub.on_call("slow", lambda frame: time.sleep(1.0))
    try:
        client = hub._Client(parent.path)
        with pytest.raises(hub.HubUnavailable, match="no answer"):
            client.call(started, 0.2)
    finally:
        hub._answerers.pop("slow", None)


def test_a_parent_that_did_not_answer_is_not_asked_again_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unanswered call costs its caller CALL_TIMEOUT: after one, the process counts by itself
    for ALONE_FOR seconds instead of paying that on every sign-in step and request."""
    asked = []

    def unanswered(frame: dict[str, object], timeout: float) -> object:
        asked.append(frame["op"])
        raise hub.HubUnavailable("no answer")

    clock = [1000.0]
    monkeypatch.setattr(hub, "active", lambda: True)
    monkeypatch.setattr(hub, "call", unanswered)
    monkeypatch.setattr(ratelimit, "_redis", lambda: None)
    monkeypatch.setattr(ratelimit, "_alone_until", 0.0)
    monkeypatch.setattr(ratelimit, "_monotonic", lambda: clock[0])
    key = f"k-{uuid.uuid4().hex}"
    assert [ratelimit.hit(key, "2/m") for _ in range(3)] == [True, True, False]  # counted here meanwhile
    assert ratelimit.backoff_remaining(key) == 0
    assert asked == ["hits"]
    clock[0] += ratelimit.ALONE_FOR + 1
    ratelimit.hit(key, "2/m")
    assert asked == ["hits", "hits"]  # asked again after the pause
