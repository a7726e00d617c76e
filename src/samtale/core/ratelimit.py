"""A small fixed-window rate limiter on the cache (Redis when scaled out)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip() or "m"]
    return int(count), seconds


def hits(limits: list[tuple[str, str]]) -> bool:
    """Record one hit on each (key, rate); False when any is over its limit. On Redis, one round
    trip for all of them (INCR and EXPIRE in one pipeline) instead of two to four each."""
    redis_cache = getattr(cache, "_cache", None)
    if not isinstance(redis_cache, RedisCacheClient):
        return all([hit(key, rate) for key, rate in limits])
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
    limit, period = parse_rate(rate)
    window = int(time.time() // period)
    cache_key = f"rl:{key}:{window}"
    added = cache.add(cache_key, 1, timeout=period + 1)
    if added:
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:
        cache.set(cache_key, 1, timeout=period + 1)
        return True
    return count <= limit


MAX_BACKOFF = 15 * 60  # seconds


def backoff_remaining(key: str) -> int:
    """Seconds until `key` (e.g. a client address and an email) may try again; 0: now."""
    entry = cache.get(f"bo:{key}")
    if not entry:
        return 0
    return max(0, int(entry["until"] - time.time() + 0.999))


def record_failure(key: str, free: int) -> int:
    """One more failure for `key`: after `free` of them, each further one waits twice as long as
    the one before (1 s, 2 s, 4 s … at most MAX_BACKOFF). Nobody is locked out: the wait is per
    key, ends by itself, and a success clears it. Returns the wait now imposed."""
    entry = cache.get(f"bo:{key}") or {"failures": 0, "until": 0.0}
    entry["failures"] += 1
    over = entry["failures"] - free
    wait = min(MAX_BACKOFF, 2 ** (over - 1)) if over > 0 else 0
    entry["until"] = time.time() + wait
    cache.set(f"bo:{key}", entry, timeout=24 * 3600)
    return int(wait)


def clear(key: str) -> None:
    cache.delete(f"bo:{key}")
