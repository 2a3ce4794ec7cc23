"""Junctions: wait for every branch, dead-path elimination, return_data_from."""

from __future__ import annotations

import asyncio

from tests.unit.runtime.helpers import (
    GATES,
    Gate,
    Harness,
    act,
    by_activity,
    cond,
    link,
    run,
    runbook,
    summary,
    wait_for,
)


def _diamond(b_link: dict | None = None, **junction_props):
    b_link = b_link or {}
    return runbook(
        [
            act("start", "echo", value="s"),
            act("a", "items", values=["a1", "a2"]),
            act("b", "echo", value="b"),
            act("j", "junction", **junction_props),
            act("after", "echo", value="after:{j.Value}" if junction_props else "after"),
        ],
        [
            link("start", "a"),
            link("start", "b", **b_link),
            link("a", "j"),
            link("b", "j"),
            link("j", "after"),
        ],
    )


async def test_junction_fires_once_after_every_branch() -> None:
    h, outcome = await run(_diamond())
    runs = by_activity(h.runs())
    assert len(runs["j"]) == 1 and len(runs["after"]) == 1
    # both branches' results were recorded before the junction started
    writes = h.store.writes
    j_start = writes.index(("start", runs["j"][0].run_id))
    for branch in ("a", "b"):
        assert writes.index(("result", runs[branch][0].run_id)) < j_start
    assert runs["after"][0].published[0]["Value"] == "after"
    assert outcome.status == "success"


async def test_junction_waits_for_a_slow_branch_and_its_fan_out() -> None:
    GATES["junction-slow"] = g = Gate()
    doc = runbook(
        [
            act("start", "items", values=["1", "2", "3"]),
            act("fast", "echo"),
            act("slow", "gate", gate="junction-slow"),
            act("j", "junction"),
            act("after", "echo"),
        ],
        [
            link("start", "fast"),
            link("start", "slow", include=[cond("Value", "equals", "2")]),
            link("fast", "j"),
            link("slow", "j"),
            link("j", "after"),
        ],
    )
    h = Harness(doc)
    task = asyncio.create_task(h.run())
    await g.entered.wait()
    await wait_for(lambda: len(by_activity(h.runs()).get("fast", [])) == 3)
    await wait_for(lambda: all(r.status != "running" for r in by_activity(h.runs())["fast"]))
    assert "j" not in by_activity(h.runs())
    g.release.set()
    outcome = await task
    runs = by_activity(h.runs())
    assert [len(runs[a]) for a in ("start", "fast", "slow", "j", "after")] == [1, 3, 1, 1, 1]
    assert outcome.status == "success"


async def test_dead_branch_does_not_block_the_junction() -> None:
    h, outcome = await run(_diamond({"include": [cond("Value", "equals", "never")]}))
    assert [r.activity for r in h.runs() if r.activity in ("b", "j", "after")] == ["j", "after"]
    assert outcome.status == "success"


async def test_junction_is_dead_when_every_branch_is_dead() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            act("a", "echo"),
            act("b", "echo"),
            act("j", "junction"),
            act("after", "echo"),
        ],
        [
            link("start", "a", include=[cond("Status", "equals", "failed")]),
            link("start", "b", include=[cond("Status", "equals", "failed")]),
            link("a", "j"),
            link("b", "j"),
            link("j", "after"),
        ],
    )
    h, outcome = await run(doc)
    assert [r.activity for r in h.runs()] == ["start"]
    assert outcome.status == "success"


async def test_return_data_from_republishes_the_branch_items() -> None:
    h, outcome = await run(_diamond(return_data_from="a"))
    runs = by_activity(h.runs())
    (j,) = runs["j"]
    assert [p["Value"] for p in j.published] == ["a1", "a2"]
    assert all(p["ActivityName"] == "j" and p["Status"] == "success" for p in j.published)
    assert [(r.item, r.published[0]["Value"]) for r in runs["after"]] == [
        (0, "after:a1"),
        (1, "after:a2"),
    ]
    assert outcome.status == "success"


async def test_republished_items_keep_their_lineage() -> None:
    doc = runbook(
        [
            act("start", "items", values=["x", "y"]),
            act("branch", "echo", value="{start.Value}!"),
            act("other", "echo"),
            act("j", "junction", return_data_from="branch"),
            act("after", "echo", value="{start.Value}/{branch.Value}/{j.Value}"),
        ],
        [
            link("start", "branch"),
            link("start", "other"),
            link("branch", "j"),
            link("other", "j"),
            link("j", "after"),
        ],
    )
    h, _ = await run(doc)
    after = sorted(r.published[0]["Value"] for r in by_activity(h.runs())["after"])
    assert after == ["x/x!/x!", "y/y!/y!"]


async def test_junction_without_return_data_runs_downstream_once() -> None:
    doc = runbook(
        [
            act("start", "items", values=["1", "2", "3"]),
            act("each", "echo", value="{start.Value}"),
            act("j", "junction"),
            act("after", "echo", value="once"),
        ],
        [link("start", "each"), link("each", "j"), link("j", "after")],
    )
    h, outcome = await run(doc)
    assert summary(h.runs())[-2:] == [
        ("j", "success", 0, ("",)),
        ("after", "success", 0, ("once",)),
    ]
    assert len(by_activity(h.runs())["each"]) == 3
    assert outcome.status == "success"


async def test_junction_downstream_of_a_junction() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            act("a", "echo"),
            act("b", "echo"),
            act("j1", "junction"),
            act("c", "echo"),
            act("j2", "junction"),
            act("end", "echo"),
        ],
        [
            link("start", "a"),
            link("start", "b"),
            link("a", "j1"),
            link("b", "j1"),
            link("j1", "c"),
            link("start", "j2"),
            link("c", "j2"),
            link("j2", "end"),
        ],
    )
    h, outcome = await run(doc)
    assert [len(v) for v in by_activity(h.runs()).values()] == [1] * 7
    order = [r.activity for r in h.runs()]
    assert order.index("j2") > order.index("c") > order.index("j1")
    assert outcome.status == "success"


async def test_failure_into_junction_is_handled_when_its_link_is_followed() -> None:
    doc = runbook(
        [act("start", "echo"), act("bad", "fail"), act("j", "junction"), act("after", "echo")],
        [
            link("start", "bad"),
            link("bad", "j", include=[]),
            link("j", "after"),
        ],
    )
    h, outcome = await run(doc)
    assert [r.activity for r in h.runs()] == ["start", "bad", "j", "after"]
    assert outcome.status == "success"


async def test_after_a_junction_branch_data_is_the_one_run_of_each() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            act("a", "echo", value="from a"),
            act("b", "echo", value="from b"),
            act("j", "junction"),
            act("after", "echo", value="{a.Value}+{b.Value}"),
        ],
        [
            link("start", "a"),
            link("start", "b"),
            link("a", "j"),
            link("b", "j"),
            link("j", "after"),
        ],
    )
    h, _ = await run(doc)
    assert summary(by_activity(h.runs())["after"]) == [("after", "success", 0, ("from a+from b",))]
