"""The live feed's ordering rule (no database): in seq order, nothing skipped, nothing twice."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from orch.gateway.live.tracker import SeqTracker


def poll(t: SeqTracker[int], holders: set[str], visible: set[int]) -> list[int]:
    """What one poll reads from a snapshot where ``visible`` seqs are committed."""
    lows, highs = t.missing()
    in_gaps = {s for s in visible if any(lo <= s <= hi for lo, hi in zip(lows, highs, strict=True))}
    new = sorted(s for s in visible if s > t.hi)[: t.room()]
    return t.advance(holders, [(s, s) for s in sorted(in_gaps | set(new))])


def test_in_order_without_writers_goes_out_at_once() -> None:
    t: SeqTracker[int] = SeqTracker(0, [])
    assert poll(t, set(), {1, 2, 3}) == [1, 2, 3]
    assert t.last == 3 and not t.waiting


def test_a_late_commit_is_waited_for_then_delivered_first() -> None:
    t: SeqTracker[int] = SeqTracker(0, [])
    assert poll(t, {"slow"}, {1, 2, 4, 5}) == [1, 2]
    assert t.waiting and t.last == 2
    assert poll(t, {"slow", "other"}, {1, 2, 4, 5, 6}) == []
    assert poll(t, {"other"}, {1, 2, 3, 4, 5, 6}) == [3, 4, 5, 6]
    assert not t.waiting


def test_a_rolled_back_seq_is_passed_one_poll_after_its_writer_ended() -> None:
    t: SeqTracker[int] = SeqTracker(0, [])
    assert poll(t, {"a"}, {1, 3}) == [1]
    assert poll(t, set(), {1, 3}) == []  # the writer ended: settle at the next poll
    assert t.settling
    assert poll(t, set(), {1, 3}) == [3]
    assert not t.waiting


def test_a_commit_between_snapshot_and_lock_read_is_caught_by_the_next_poll() -> None:
    t: SeqTracker[int] = SeqTracker(0, [])
    # seq 2's writer committed after the snapshot but before the lock table was read
    assert poll(t, set(), {1, 3}) == [1]
    assert poll(t, set(), {1, 2, 3}) == [2, 3]


def test_new_writers_do_not_hold_back_an_older_gap() -> None:
    t: SeqTracker[int] = SeqTracker(0, [])
    assert poll(t, {"a"}, {1, 3}) == [1]
    assert poll(t, {"b"}, {1, 3, 4}) == []  # a ended; b only holds seqs above 4
    assert poll(t, {"b"}, {1, 3, 4}) == [3, 4]


def test_ready_only_after_the_writers_below_the_start_ended() -> None:
    t: SeqTracker[int] = SeqTracker(10, ["old"])
    assert not t.ready and t.waiting
    poll(t, {"old"}, set())
    assert not t.ready
    poll(t, set(), set())
    assert not t.ready
    poll(t, set(), set())
    assert t.ready and not t.waiting
    assert poll(t, set(), {9, 11}) == [11]  # below the start is history, not live


def test_the_buffer_behind_a_gap_is_bounded() -> None:
    t: SeqTracker[int] = SeqTracker(0, [], buffer_max=5)
    assert poll(t, {"a"}, set(range(2, 30))) == []
    assert t.buffered == 5 and t.room() == 0
    assert t.hi == 6
    assert poll(t, set(), set(range(1, 30))) == [1, 2, 3, 4, 5, 6]
    assert poll(t, set(), set(range(1, 30))) == list(range(7, 12))


@dataclass
class Txn:
    name: str
    seqs: list[int] = field(default_factory=list)
    state: str = "open"


actions = st.lists(
    st.tuples(st.sampled_from(["begin", "take", "commit", "abort", "poll", "split-poll"]),
              st.integers(0, 7)),
    min_size=1, max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(actions)
def test_any_interleaving_delivers_every_committed_seq_once_in_order(steps) -> None:
    """Writers take seqs, commit or roll back in any order, polls in between — and
    a writer may end between a poll's snapshot and its lock read."""
    t: SeqTracker[int] = SeqTracker(0, [], buffer_max=8)
    txns: list[Txn] = []
    next_seq = 1
    delivered: list[int] = []

    def committed() -> set[int]:
        return {s for x in txns if x.state == "committed" for s in x.seqs}

    def holders() -> set[str]:
        return {x.name for x in txns if x.state == "open"}

    for action, n in steps:
        open_ = [x for x in txns if x.state == "open"]
        if action == "begin" or (action == "take" and not open_):
            txns.append(Txn(f"t{len(txns)}"))
        elif action == "take":
            open_[n % len(open_)].seqs.append(next_seq)
            next_seq += 1
        elif action in ("commit", "abort") and open_:
            open_[n % len(open_)].state = "committed" if action == "commit" else "aborted"
        elif action == "poll":
            delivered += poll(t, holders(), committed())
        elif action == "split-poll":
            snapshot = committed()
            if open_:  # one writer ends after the snapshot, before the lock read
                open_[n % len(open_)].state = "committed" if n % 2 else "aborted"
            delivered += poll(t, holders(), snapshot)
    for x in txns:
        if x.state == "open":
            x.state = "committed"
    for _ in range(20 + next_seq):
        delivered += poll(t, holders(), committed())
    assert delivered == sorted(committed())
