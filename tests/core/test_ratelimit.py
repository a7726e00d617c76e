"""Rate limits count the same on the process's memory and on Redis (one round trip there)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import override_settings

from samtale.core import ratelimit

REDIS_URL = "redis://127.0.0.1:6379/8"


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "memory":
        config = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    else:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()  # no Redis is a failure, never a skip
        config = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    with override_settings(CACHES={"default": config}):  # (Django's test signals renew the cache handler)
        yield request.param


def test_hits_allows_up_to_each_limit_and_then_refuses(backend: str) -> None:
    who, where = f"v-{uuid.uuid4().hex}", f"ip-{uuid.uuid4().hex}"
    limits = [(who, "3/m"), (where, "5/m")]
    assert [ratelimit.hits(limits) for _ in range(4)] == [True, True, True, False]
    # the per-visitor key is spent; another visitor from the same address has two more
    other = [(f"v-{uuid.uuid4().hex}", "3/m"), (where, "5/m")]
    assert [ratelimit.hits(other) for _ in range(2)] == [True, False]  # the address: 5th hit passes, 6th not
    assert ratelimit.hits([(f"fresh-{uuid.uuid4().hex}", "1/m")])


def test_hits_and_hit_share_the_window(backend: str) -> None:
    key = f"k-{uuid.uuid4().hex}"
    assert ratelimit.hit(key, "2/m")
    assert ratelimit.hits([(key, "2/m")])
    assert not ratelimit.hit(key, "2/m")
    assert not ratelimit.hits([(key, "2/m")])
