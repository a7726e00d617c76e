"""A small fixed-window rate limiter on the cache (Redis when scaled out)."""

from __future__ import annotations

import time

from django.core.cache import cache


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip() or "m"]
    return int(count), seconds


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
