"""Which events may be delivered, in ``seq`` order, without ever skipping a late commit.

``events.seq`` comes from an identity (a sequence with cache 1), taken by the
INSERT before its transaction commits: seq 7 can become visible after seq 8.
A reader that moved past 7 when it saw 8 would never deliver 7, and a client
resuming "after 8" would miss it. So the reader delivers strictly in order
and stops at the first missing seq until it knows the seq will never appear.

Who can still insert a missing seq? Only a transaction that had already taken
it when the reader's snapshot was made (it is below a visible seq, so it was
taken before that seq, which committed before the snapshot), and such a
transaction holds a RowExclusiveLock on ``events`` from before it took the
seq to its end — with or without a transaction id yet. Each poll reads the
rows from its snapshot and, after that, the holders of that lock. A missing
range first seen at poll *k* records the holders of poll *k*; each later poll
keeps only those still holding. When none is left at poll *j*, every
transaction that could commit the range has ended by then, so the snapshot of
poll *j + 1* shows whatever they committed: a seq still missing at poll
*j + 1* was rolled back, and is passed.

The tracker is the pure part of that (no I/O): feed it each poll's rows and
holders, and it returns what may go out now. The sequence must keep CACHE 1
(per-session caches hand out seqs out of time order). A transaction that holds
the lock without inserting (a purge batch deleting events) only delays the
gaps seen while it runs, so such work must stay in short transactions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["SeqTracker"]


@dataclass(eq=False, slots=True)
class _Gaps:
    """Missing seqs first seen at the same poll (so with the same possible writers)."""

    ranges: list[tuple[int, int]]
    """Inclusive (low, high) ranges, ascending."""
    holders: set[str]
    """Lock holders that may still commit into the ranges."""
    cleared_at: int | None = None
    """The poll at which ``holders`` became empty; the next poll settles the ranges."""
    seen: set[int] = field(default_factory=set)


class SeqTracker(Generic[T]):
    """Ordered, gap-safe delivery over the polls of one reader (see the module docstring)."""

    def __init__(self, start: int, holders: Iterable[str], *, buffer_max: int = 50_000) -> None:
        self.last = start
        """Every seq up to here is delivered or known never to come."""
        self.hi = start
        """The highest seq read."""
        self.buffer_max = buffer_max
        self._buffer: dict[int, T] = {}
        self._gaps: list[_Gaps] = []
        self._polls = 0
        # Below ``start``: nothing is delivered live, but replays read it, so they
        # wait until whoever may still insert there has ended (``ready``).
        self.start = start
        self._startup = _Gaps([], set(holders))
        if not self._startup.holders:
            self._startup.cleared_at = 0

    # -- what the next poll should read ----------------------------------------------
    def missing(self) -> tuple[list[int], list[int]]:
        """Low and high ends of the ranges still awaited (for ``api_live_poll``)."""
        lows: list[int] = []
        highs: list[int] = []
        for g in self._gaps:
            for lo, hi in g.ranges:
                lows.append(lo)
                highs.append(hi)
        return lows, highs

    def room(self) -> int:
        """How many new rows the next poll may read (the buffer is bounded)."""
        return max(0, self.buffer_max - len(self._buffer))

    @property
    def waiting(self) -> bool:
        """Missing seqs block delivery (poll again soon: an abort sends no notification)."""
        return bool(self._gaps) or not self.ready

    @property
    def settling(self) -> bool:
        """Some ranges await the poll that settles them: poll again at once."""
        return any(g.cleared_at == self._polls for g in self._gaps) or (
            self._startup.cleared_at == self._polls
        )

    @property
    def ready(self) -> bool:
        """Every seq up to ``start`` is visible or will never be (replays may read there)."""
        cleared = self._startup.cleared_at
        return cleared is not None and self._polls > cleared

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    # -- one poll ---------------------------------------------------------------------
    def advance(self, holders: Iterable[str], rows: Iterable[tuple[int, T]]) -> list[T]:
        """Take one poll's result; return the items that may go out now, in seq order.

        ``rows``: (seq, item) of the events read — the new ones above ``hi`` (in
        order, up to the poll's limit) and any that turned up in missing ranges.
        """
        self._polls += 1
        poll = self._polls
        holding = set(holders)
        above: list[int] = []
        for seq, item in rows:
            if seq <= self.last or seq in self._buffer:
                continue
            self._buffer[seq] = item
            if seq > self.hi:
                above.append(seq)
            else:
                for g in self._gaps:
                    g.seen.add(seq)
        if above:
            above.sort()
            ranges: list[tuple[int, int]] = []
            prev = self.hi
            for seq in above:
                if seq > prev + 1:
                    ranges.append((prev + 1, seq - 1))
                prev = seq
            self.hi = above[-1]
            if ranges:
                self._gaps.append(_Gaps(ranges, set(holding)))
        for g in (*self._gaps, self._startup):
            if g.cleared_at is None:
                g.holders &= holding
                if not g.holders:
                    g.cleared_at = poll
        # A range cleared at an earlier poll is settled: what is still missing never comes.
        self._gaps = [g for g in self._gaps if g.cleared_at is None or g.cleared_at >= poll]
        stop = self._first_missing()
        limit = self.hi if stop is None else stop - 1
        out = [self._buffer.pop(s) for s in sorted(s for s in self._buffer if s <= limit)]
        self.last = max(self.last, limit)
        self._trim()
        return out

    def _first_missing(self) -> int | None:
        first: int | None = None
        for g in self._gaps:
            for lo, hi in g.ranges:
                s = max(lo, self.last + 1)
                while s <= hi and s in self._buffer:
                    s += 1
                if s <= hi:
                    first = s if first is None else min(first, s)
                    break
        return first

    def _trim(self) -> None:
        """Drop what is delivered from the ranges; split ranges around seqs that came."""
        kept: list[_Gaps] = []
        for g in self._gaps:
            ranges: list[tuple[int, int]] = []
            seen = sorted(s for s in g.seen if s > self.last)
            for lo, hi in g.ranges:
                lo = max(lo, self.last + 1)
                if lo > hi:
                    continue
                for s in seen:
                    if lo <= s <= hi:
                        if s > lo:
                            ranges.append((lo, s - 1))
                        lo = s + 1
                if lo <= hi:
                    ranges.append((lo, hi))
            g.ranges = ranges
            g.seen.clear()
            if ranges:
                kept.append(g)
        self._gaps = kept
