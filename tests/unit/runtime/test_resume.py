"""Resume after a server loss: finished runs are not run again, in-flight
rerunnable runs run again (same run id), in-flight others are interrupted and
follow their failure links."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from actors.store import RunStart, StaleOwner
from tests.unit.runtime.helpers import (
    GATES,
    Gate,
    Harness,
    act,
    by_activity,
    cond,
    link,
    runbook,
    summary,
    wait_for,
)


async def crash_when(h: Harness, ready) -> None:
    """Run ``h`` until ``ready()`` holds, then lose the server (cancel the actor's task)."""
    task = asyncio.create_task(h.run())
    await wait_for(ready)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.instance_id not in h.store.outcomes


def _starts(h: Harness, run_id: str) -> int:
    return h.store.writes.count(("start", run_id))


async def test_resume_reruns_an_in_flight_rerunnable_run() -> None:
    GATES["resume-rr"] = g = Gate()
    doc = runbook(
        [
            act("start", "echo", value="s"),
            act("ret", "return_data", data={"Out": "early"}),
            act("a", "echo", value="a"),
            act("b", "gate", gate="resume-rr", value="{a.Value}b"),
            act("c", "echo", value="{b.Value}c"),
        ],
        [link("start", "ret"), link("start", "a"), link("a", "b"), link("b", "c")],
        returns=[{"name": "Out"}],
    )
    h = Harness(doc)
    await crash_when(
        h, lambda: g.entered.is_set() and "ret" in {r.activity for r in h.runs() if r.ended_at}
    )
    before = {r.activity: r for r in h.runs()}
    assert before["b"].status == "running" and g.cancelled == 1
    g.release.set()
    outcome = await h.run(h.store.take_over(h.instance_id))
    runs = by_activity(h.runs())
    assert summary(h.runs()) == [
        ("start", "success", 0, ("s",)),
        ("ret", "success", 0, ("",)),
        ("a", "success", 0, ("a",)),
        ("b", "success", 0, ("ab",)),
        ("c", "success", 0, ("abc",)),
    ]
    assert runs["b"][0].run_id == before["b"].run_id
    assert _starts(h, before["b"].run_id) == 2  # run again under its own id
    for name in ("start", "ret", "a"):
        assert _starts(h, before[name].run_id) == 1  # never again
    assert g.count == 2
    assert outcome.status == "success"
    assert outcome.returned_data == {"Out": "early"}


async def test_resume_interrupts_an_in_flight_non_rerunnable_run() -> None:
    GATES["resume-once"] = g = Gate()
    doc = runbook(
        [
            act("start", "echo"),
            act("b", "gate_once", gate="resume-once"),
            act("next", "echo"),
            act("on_fail", "echo", value="{b.ErrorSummary}"),
        ],
        [
            link("start", "b"),
            link("b", "next"),
            link("b", "on_fail", include=[cond("Status", "equals", "failed")]),
        ],
    )
    h = Harness(doc)
    await crash_when(h, g.entered.is_set)
    assert h.runs()[1].run_id in h.store.durable_starts  # start committed before the side effect
    g.release.set()
    outcome = await h.run(h.store.take_over(h.instance_id))
    assert summary(h.runs()) == [
        ("start", "success", 0, ("",)),
        ("b", "interrupted", 0, ("",)),
        ("on_fail", "success", 0, ("interrupted: server lost",)),
    ]
    b = h.runs()[1]
    assert (b.error, b.published[0]["Status"]) == ("interrupted: server lost", "failed")
    assert g.count == 1  # never ran twice
    assert outcome.status == "success"


async def test_unhandled_interruption_fails_the_instance() -> None:
    GATES["resume-once-2"] = g = Gate()
    doc = runbook([act("start", "gate_once", gate="resume-once-2")], [])
    h = Harness(doc)
    await crash_when(h, g.entered.is_set)
    outcome = await h.run(h.store.take_over(h.instance_id))
    assert summary(h.runs()) == [("start", "interrupted", 0, ("",))]
    assert (outcome.status, outcome.error) == ("failed", "start: interrupted: server lost")


async def test_resume_a_fan_out_half_done() -> None:
    for v in "1234":
        GATES[f"fan-{v}"] = Gate()
    for v in "12":
        GATES[f"fan-{v}"].release.set()
    doc = runbook(
        [
            act("start", "items", values=["1", "2", "3", "4"]),
            act("each", "gate", gate="fan-{start.Value}", value="{start.Value}"),
            act("after", "echo", value="after{each.Value}"),
        ],
        [link("start", "each"), link("each", "after")],
    )
    h = Harness(doc)
    await crash_when(
        h,
        lambda: (
            GATES["fan-3"].entered.is_set()
            and GATES["fan-4"].entered.is_set()
            and len(by_activity(h.runs()).get("after", [])) == 2
            and all(r.ended_at for r in by_activity(h.runs())["after"])
        ),
    )
    for v in "34":
        GATES[f"fan-{v}"].release.set()
    outcome = await h.run(h.store.take_over(h.instance_id))
    runs = by_activity(h.runs())
    assert sorted((r.item, r.status, r.published[0]["Value"]) for r in runs["each"]) == [
        (0, "success", "1"),
        (1, "success", "2"),
        (2, "success", "3"),
        (3, "success", "4"),
    ]
    assert sorted(r.published[0]["Value"] for r in runs["after"]) == [
        "after1",
        "after2",
        "after3",
        "after4",
    ]
    assert [GATES[f"fan-{v}"].count for v in "1234"] == [1, 1, 2, 2]
    assert all(_starts(h, r.run_id) == 1 for r in runs["after"])
    assert outcome.status == "success"


async def test_resume_after_a_junction_fired_keeps_its_republished_lineage() -> None:
    GATES["resume-j"] = g = Gate()
    doc = runbook(
        [
            act("start", "echo"),
            act("a", "items", values=["x", "y"]),
            act("b", "echo"),
            act("j", "junction", return_data_from="a"),
            act("after", "gate", gate="resume-j", value="{a.Value}-{j.Value}"),
        ],
        [
            link("start", "a"),
            link("start", "b"),
            link("a", "j"),
            link("b", "j"),
            link("j", "after"),
        ],
    )
    h = Harness(doc)
    await crash_when(h, lambda: g.count == 2)
    j_run = by_activity(h.runs())["j"][0]
    g.release.set()
    outcome = await h.run(h.store.take_over(h.instance_id))
    runs = by_activity(h.runs())
    assert [r.run_id for r in runs["j"]] == [j_run.run_id]
    assert _starts(h, j_run.run_id) == 1
    assert sorted(r.published[0]["Value"] for r in runs["after"]) == ["x-x", "y-y"]
    assert outcome.status == "success"


async def test_resume_a_junction_still_waiting() -> None:
    GATES["resume-j2"] = g = Gate()
    doc = runbook(
        [
            act("start", "echo"),
            act("a", "items", values=["x", "y"]),
            act("b", "gate", gate="resume-j2"),
            act("j", "junction", return_data_from="a"),
            act("after", "echo", value="{j.Value}"),
        ],
        [
            link("start", "a"),
            link("start", "b"),
            link("a", "j"),
            link("b", "j"),
            link("j", "after"),
        ],
    )
    h = Harness(doc)
    await crash_when(h, lambda: g.entered.is_set() and "a" in {r.activity for r in h.runs()})
    g.release.set()
    outcome = await h.run(h.store.take_over(h.instance_id))
    runs = by_activity(h.runs())
    assert [len(runs[k]) for k in ("start", "a", "b", "j", "after")] == [1, 1, 1, 1, 2]
    assert sorted(r.published[0]["Value"] for r in runs["after"]) == ["x", "y"]
    assert outcome.status == "success"


async def test_resume_a_loop_mid_way() -> None:
    GATES["resume-loop"] = g = Gate()
    doc = runbook(
        [
            {
                "id": "l",
                "type": "gate",
                "properties": {"gate": "resume-loop", "hold_from_attempt": 2},
                "loop": {"until": [cond("Value", "equals", "never")], "max_attempts": 3},
            }
        ],
        [],
    )
    h = Harness(doc)
    await crash_when(h, g.entered.is_set)
    g.release.set()
    outcome = await h.run(h.store.take_over(h.instance_id))
    assert [(r.attempt, r.status) for r in h.runs()] == [
        (1, "success"),
        (2, "success"),
        (3, "success"),
    ]
    assert g.count == 3  # attempt 2 twice (rerunnable), attempt 3 once
    assert outcome.status == "success"


async def test_a_stale_owner_cannot_write() -> None:
    h = Harness(runbook([act("start", "echo")], []))
    old_ref = h.plan.ref
    h.store.take_over(h.instance_id)
    start = RunStart(
        run_id="r", activity="start", parent_run=None, item=0, started_at=datetime.now(UTC)
    )
    with pytest.raises(StaleOwner):
        await h.store.record_run_start(old_ref, start, durable=True)
