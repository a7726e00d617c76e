"""Fixed-window rate limits and sign-in backoff, counted once per installation.

Where the counts live decides whether a limit is one limit: with Redis, in Redis (every process of
every machine); without it, `samtale serve`'s web processes ask their parent through the hub
(`core.hub`), which counts in its own memory for all of them; a process alone (tests, a shell)
counts in its cache. Should the parent not answer, a process counts by itself rather than refuse
everyone or let everyone through — logged, since the limit is then per process again."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient

from samtale.core import hub

log = logging.getLogger(__name__)

MAX_BACKOFF = 15 * 60  # seconds


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip() or "m"]
    return int(count), seconds


def _redis() -> Any:
    client = getattr(cache, "_cache", None)
    return client if isinstance(client, RedisCacheClient) else None


CALL_TIMEOUT = 2.0  # seconds a process waits for its parent's answer
ALONE_FOR = 30.0  # after an unanswered call, seconds this process counts by itself before asking again
_alone_until = 0.0


def _monotonic() -> float:
    return time.monotonic()


def _ask(frame: dict[str, Any]) -> Any:
    """Run one rate-limit operation where this installation keeps its counts. A parent that did
    not answer is not asked again for ALONE_FOR seconds (each call would wait CALL_TIMEOUT, and a
    sign-in makes three): the process counts by itself meanwhile, logged once."""
    global _alone_until
    if hub.active() and _redis() is None and _monotonic() >= _alone_until:
        try:
            return hub.call(frame, timeout=CALL_TIMEOUT)
        except hub.HubUnavailable:
            _alone_until = _monotonic() + ALONE_FOR
            log.warning(
                "the parent process did not answer a rate-limit call: counted in this process for %d s", ALONE_FOR
            )
    return _answer(frame)


def hits(limits: list[tuple[str, str]]) -> bool:
    """Record one hit on each (key, rate); False when any is over its limit. On Redis, one round
    trip for all of them (INCR and EXPIRE in one pipeline) instead of two to four each."""
    redis_cache = _redis()
    if redis_cache is None:
        return bool(_ask({"kind": "ratelimit", "op": "hits", "limits": [list(pair) for pair in limits]}))
    windows = []
    pipe = redis_cache.get_client(write=True).pipeline(transaction=False)
    for key, rate in limits:
        limit, period = parse_rate(rate)
        name = cache.make_and_validate_key(f"rl:{key}:{int(time.time() // period)}")
        pipe.incr(name)
        pipe.expire(name, period + 1, nx=True)
        windows.append(limit)
    replies = pipe.execute()
    return all(count <= limit for count, limit in zip(replies[::2], windows, strict=True))


def hit(key: str, rate: str) -> bool:
    """Record one hit; return False when the caller is over the limit."""
    return hits([(key, rate)])


def backoff_remaining(key: str) -> int:
    """Seconds until `key` (e.g. a client address and an email) may try again; 0: now."""
    return int(_ask({"kind": "ratelimit", "op": "backoff", "key": key}))


def record_failure(key: str, free: int) -> int:
    """One more failure for `key`: after `free` of them, each further one waits twice as long as
    the one before (1 s, 2 s, 4 s … at most MAX_BACKOFF). Nobody is locked out: the wait is per
    key, ends by itself, and a success clears it. Returns the wait now imposed."""
    return int(_ask({"kind": "ratelimit", "op": "fail", "key": key, "free": free}))


def clear(key: str) -> None:
    _ask({"kind": "ratelimit", "op": "clear", "key": key})


# ---------------------------------------------------------------- where the counts are kept
def _count(key: str, rate: str) -> bool:
    limit, period = parse_rate(rate)
    cache_key = f"rl:{key}:{int(time.time() // period)}"
    if cache.add(cache_key, 1, timeout=period + 1):
        return limit >= 1
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between the two
        cache.set(cache_key, 1, timeout=period + 1)
        return True
    return count <= limit


def _answer(frame: dict[str, Any]) -> Any:
    """One operation on this process's cache (in the hub's parent: for every web process). The
    frame may come from another process: it is read defensively."""
    op, key = frame.get("op"), str(frame.get("key", ""))[:500]
    if op == "hits":
        pairs = [(str(k)[:500], str(r)) for k, r in frame.get("limits", [])]
        return all([_count(k, r) for k, r in pairs])  # every one counted, not only up to the first refusal
    if op == "backoff":
        entry = cache.get(f"bo:{key}")
        return max(0, int(entry["until"] - time.time() + 0.999)) if entry else 0
    if op == "fail":
        entry = cache.get(f"bo:{key}") or {"failures": 0, "until": 0.0}
        entry["failures"] += 1
        over = entry["failures"] - int(frame.get("free", 0))
        wait = min(MAX_BACKOFF, 2 ** (over - 1)) if over > 0 else 0
        entry["until"] = time.time() + wait
        cache.set(f"bo:{key}", entry, timeout=24 * 3600)
        return int(wait)
    if op == "clear":
        cache.delete(f"bo:{key}")
        return None
    raise ValueError(f"unknown rate-limit operation {op!r}")


hub.on_call("ratelimit", _answer)
