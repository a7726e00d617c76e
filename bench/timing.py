"""Shared by the benchmarks: time a function and report p50/p95 in milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def percentiles(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm caches and connections first
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return summarize(samples)


def summarize(samples: list[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank) of samples in milliseconds."""
    samples = sorted(samples)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 2),
    }
