"""Garbage-collector settings for a long-running server process.

A runbook server keeps thousands of live objects per thousand instances and
allocates a few dozen more per activity run. With CPython's default
thresholds (700, 10, 10) the young generation is collected every 700
allocations and each tenth of those collections walks the middle
generation too: in the runtime benchmark at 1,000 concurrent instances that
was 12 µs of collector per activity run, a third of the runtime's CPU.
After start-up the process freezes what it has loaded (modules, the
activity registry, compiled runbooks: never garbage) out of the collector's
sight, and collects the young generation every 10,000 allocations; cycles
are still found, a little later (2-3 µs per activity run in the same
benchmark).
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "tune_gc"]

THRESHOLDS = (10_000, 50, 100)


def tune_gc() -> None:
    """Freeze the start-up heap and raise the collection thresholds (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
