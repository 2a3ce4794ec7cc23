"""Loops, timeouts and stop (a running program is killed: no process left)."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from actors.instance import InstanceActor, RuntimeOptions
from tests.unit.runtime.helpers import (
    GATES,
    REGISTRY,
    Gate,
    Harness,
    act,
    by_activity,
    cond,
    link,
    literal,
    run,
    runbook,
    summary,
    wait_for,
)


def _looping(loop: dict, **props) -> dict:
    return {"id": "try", "type": "attempt", "properties": props, "loop": loop}


async def test_loop_until_each_attempt_is_a_run_only_the_last_follows() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            _looping({"until": [cond("Attempt", "ge", 3)]}),
            act("after", "echo", value="{try.Attempt}"),
        ],
        [link("start", "try"), link("try", "after")],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    assert [(r.attempt, r.status, r.published[0]["Attempt"]) for r in runs["try"]] == [
        (1, "success", "1"),
        (2, "success", "2"),
        (3, "success", "3"),
    ]
    assert len({r.run_id for r in runs["try"]}) == 3
    assert summary(runs["after"]) == [("after", "success", 0, ("3",))]
    assert runs["after"][0].parent_run == runs["try"][2].run_id
    assert outcome.status == "success"


async def test_loop_max_attempts() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            _looping({"until": [cond("Attempt", "equals", "never")], "max_attempts": 4}),
            act("after", "echo"),
        ],
        [link("start", "try"), link("try", "after")],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    assert [r.attempt for r in runs["try"]] == [1, 2, 3, 4]
    assert len(runs["after"]) == 1
    assert outcome.status == "success"


async def test_loop_with_only_max_attempts_runs_that_many_times() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            _looping({"until": [], "max_attempts": 3}),
            act("after", "echo"),
        ],
        [link("start", "try"), link("try", "after")],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    assert [r.attempt for r in runs["try"]] == [1, 2, 3]
    assert len(runs["after"]) == 1
    assert outcome.status == "success"


async def test_loop_checks_after_failed_attempts_and_only_the_last_counts() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            _looping({"until": [cond("Status", "equals", "success")]}, fail_before=3),
            act("after", "echo"),
        ],
        [link("start", "try"), link("try", "after")],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    assert [r.status for r in runs["try"]] == ["failed", "failed", "success"]
    assert runs["try"][0].published[0]["ErrorSummary"] == "attempt 1 failed"
    assert len(runs["after"]) == 1
    assert outcome.status == "success"


async def test_loop_ending_on_a_failure_fails_the_instance() -> None:
    doc = runbook(
        [
            _looping(
                {"until": [cond("Status", "equals", "success")], "max_attempts": 2}, fail_before=9
            )
        ],
        [],
    )
    h, outcome = await run(doc)
    assert [r.status for r in h.runs()] == ["failed", "failed"]
    assert (outcome.status, outcome.error) == ("failed", "try: attempt 2 failed")


async def test_loop_delay_between_attempts() -> None:
    doc = runbook([_looping({"until": [cond("Attempt", "equals", 2)], "delay_seconds": 0.15})], [])
    h, _ = await run(doc)
    first, second = h.runs()
    assert first.ended_at is not None
    assert second.started_at - first.ended_at >= timedelta(seconds=0.15)


async def test_timeout_fails_the_run_and_follows_failure_links() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            {"id": "w", "type": "wait", "properties": {"seconds": 30}, "timeout_seconds": 0.05},
            act("on_timeout", "echo", value="{w.ErrorSummary}"),
        ],
        [link("start", "w"), link("w", "on_timeout", include=[cond("Status", "equals", "failed")])],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    (w,) = runs["w"]
    assert (w.status, w.error, w.published[0]["Status"], w.published[0]["ErrorSummary"]) == (
        "failed",
        "timeout",
        "failed",
        "timeout",
    )
    assert summary(runs["on_timeout"]) == [("on_timeout", "success", 0, ("timeout",))]
    assert outcome.status == "success"


async def test_type_default_timeout_applies() -> None:
    h, outcome = await run(runbook([act("start", "slow")], []))
    (r,) = h.runs()
    assert (r.status, r.error) == ("failed", "timeout")
    assert (outcome.status, outcome.error) == ("failed", "start: timeout")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_stop_kills_a_running_program_and_records_stopped(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    code = (
        "import subprocess, sys, os, time;"
        f"c = subprocess.Popen([{sys.executable!r}, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{c.pid}}');"
        "time.sleep(60)"
    )
    GATES["stop-other"] = other = Gate()
    doc = runbook(
        [
            act("start", "echo"),
            act("prog", "run_program", program=sys.executable, args=["-c", literal(code)]),
            act("held", "gate", gate="stop-other"),
            act("after", "echo"),
        ],
        [link("start", "prog"), link("start", "held"), link("prog", "after")],
    )
    h = Harness(doc)
    task = asyncio.create_task(h.run())
    await wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    await other.entered.wait()
    leader, grandchild = map(int, pids.read_text().split())
    assert _alive(leader) and _alive(grandchild)
    assert h.actor is not None
    h.actor.stop()
    outcome = await asyncio.wait_for(task, 10)
    assert outcome.status == "stopped"
    runs = by_activity(h.runs())
    for name in ("prog", "held"):
        (r,) = runs[name]
        assert (r.status, r.published[0]["Status"], r.published[0]["ErrorSummary"]) == (
            "stopped",
            "failed",
            "stopped",
        )
    assert "after" not in runs
    assert other.cancelled == 1
    await wait_for(lambda: not _alive(leader) and not _alive(grandchild))
    assert h.store.jobs[h.plan.ref.job_id].status == "stopped"


async def test_stop_drops_queued_items_and_starts_nothing_new() -> None:
    GATES["stop-queue"] = g = Gate()
    doc = runbook(
        [
            act("start", "items", values=[str(i) for i in range(10)]),
            act("each", "gate", gate="stop-queue", value="{start.Value}"),
            act("after", "echo"),
        ],
        [link("start", "each"), link("each", "after")],
    )
    h = Harness(doc, options=RuntimeOptions(max_parallel_runs=2))
    task = asyncio.create_task(h.run())
    await wait_for(lambda: g.count == 2)
    assert h.actor is not None
    h.actor.stop()
    outcome = await asyncio.wait_for(task, 10)
    assert outcome.status == "stopped"
    assert summary(h.runs()) == [
        ("start", "success", 0, tuple(str(i) for i in range(10))),
        ("each", "stopped", 0, ("",)),
        ("each", "stopped", 1, ("",)),
    ]


async def test_stop_before_run_records_nothing() -> None:
    h = Harness(runbook([act("start", "echo")], []))
    h.actor = InstanceActor(h.plan, h.store, registry=REGISTRY, compiled=h.compiled)
    h.actor.stop()
    outcome = await h.actor.run()
    assert outcome.status == "stopped"
    assert h.runs() == []


async def test_limit_on_parallel_runs_queues_the_rest() -> None:
    GATES["parallel"] = g = Gate()
    doc = runbook(
        [
            act("start", "items", values=[str(i) for i in range(7)]),
            act("each", "gate", gate="parallel", value="{start.Value}"),
        ],
        [link("start", "each")],
    )
    h = Harness(doc, options=RuntimeOptions(max_parallel_runs=3, mailbox_capacity=1))
    task = asyncio.create_task(h.run())
    await wait_for(lambda: g.count == 3)
    for _ in range(20):
        await asyncio.sleep(0)
    assert g.count == 3
    assert len(by_activity(h.runs())["each"]) == 3
    g.release.set()
    outcome = await asyncio.wait_for(task, 10)
    assert sorted(r.published[0]["Value"] for r in by_activity(h.runs())["each"]) == [
        str(i) for i in range(7)
    ]
    assert outcome.status == "success"
