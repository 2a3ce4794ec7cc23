"""Timing helpers of the in-process micro-benchmarks (no database): per-call cost and
the machine's Python speed at that moment, so a figure can be read as a ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def python_us() -> float:
    """Microseconds a fixed pure-Python loop takes now (the machine's pace beside a figure)."""
    start = time.perf_counter()
    total = 0
    for i in range(200_000):
        total += i * i % 7
    return (time.perf_counter() - start) * 1e6


def per_call_us(fn: Callable[[], Any], n: int, rounds: int, digits: int = 2) -> float:
    """Median over ``rounds`` of the microseconds one call of ``fn`` takes (``n`` calls a round)."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) * 1e6 / n)
    return round(statistics.median(samples), digits)
