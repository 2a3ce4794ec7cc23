"""Links: default success link, include/exclude per item, `include: []`, delay,
several incoming links, handled and unhandled failures, warnings."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.runtime.helpers import act, by_activity, cond, link, run, runbook, summary


async def test_default_link_follows_success_only() -> None:
    doc = runbook(
        [
            act("start", "echo", value="s"),
            act("ok", "echo", value="ok"),
            act("bad", "fail"),
            act("after_bad", "echo", value="never"),
        ],
        [link("start", "ok"), link("start", "bad"), link("bad", "after_bad")],
    )
    h, outcome = await run(doc)
    assert summary(h.runs()) == [
        ("start", "success", 0, ("s",)),
        ("ok", "success", 0, ("ok",)),
        ("bad", "failed", 0, ("",)),
    ]
    assert outcome.status == "failed"
    assert outcome.error == "bad: boom"


async def test_include_and_exclude_conditions() -> None:
    doc = runbook(
        [
            act("start", "compare_values", value="10", op="gt", to="9"),
            act("yes", "echo", value="y"),
            act("no", "echo", value="n"),
            act("vetoed", "echo", value="v"),
        ],
        [
            link("start", "yes", include=[cond("Result", "equals", "true")]),
            link("start", "no", include=[cond("Result", "equals", "false")]),
            link(
                "start",
                "vetoed",
                include=[cond("Result", "equals", "true")],
                exclude=[cond("Status", "equals", "success")],
            ),
        ],
    )
    h, outcome = await run(doc)
    assert [r.activity for r in h.runs()] == ["start", "yes"]
    assert outcome.status == "success"


async def test_explicit_empty_include_is_always_followed_and_handles_failure() -> None:
    doc = runbook(
        [
            act("start", "fail", message="nope"),
            act("cleanup", "echo", value="{start.ErrorSummary}"),
        ],
        [link("start", "cleanup", include=[])],
    )
    h, outcome = await run(doc)
    assert summary(h.runs()) == [
        ("start", "failed", 0, ("",)),
        ("cleanup", "success", 0, ("nope",)),
    ]
    assert outcome.status == "success"  # the failure was handled


async def test_failure_link_handles_a_failure() -> None:
    doc = runbook(
        [act("start", "fail"), act("on_fail", "echo", value="handled")],
        [link("start", "on_fail", include=[cond("Status", "equals", "failed")])],
    )
    h, outcome = await run(doc)
    assert summary(h.runs()) == [
        ("start", "failed", 0, ("",)),
        ("on_fail", "success", 0, ("handled",)),
    ]
    assert (outcome.status, outcome.error) == ("success", None)


async def test_unhandled_failure_deeper_in_the_graph_fails_the_instance() -> None:
    doc = runbook(
        [act("start", "echo"), act("a", "fail", message="deep"), act("b", "echo")],
        [link("start", "a"), link("start", "b")],
    )
    h, outcome = await run(doc)
    assert sorted(summary(h.runs())) == [
        ("a", "failed", 0, ("",)),
        ("b", "success", 0, ("",)),
        ("start", "success", 0, ("",)),
    ]
    assert (outcome.status, outcome.error) == ("failed", "a: deep")


async def test_warning_outcome() -> None:
    doc = runbook([act("start", "warn", message="disk 91%")], [])
    h, outcome = await run(doc)
    (r,) = h.runs()
    assert (r.status, r.published[0]["Status"], r.published[0]["ErrorSummary"]) == (
        "warning",
        "warning",
        "disk 91%",
    )
    assert outcome.status == "warning"


async def test_warning_is_not_followed_by_the_default_link() -> None:
    doc = runbook(
        [act("start", "warn"), act("next", "echo"), act("on_warn", "echo")],
        [
            link("start", "next"),
            link("start", "on_warn", include=[cond("Status", "equals", "warning")]),
        ],
    )
    h, outcome = await run(doc)
    assert [r.activity for r in h.runs()] == ["start", "on_warn"]
    assert outcome.status == "warning"


async def test_link_delay_waits_before_the_target_starts() -> None:
    doc = runbook(
        [act("start", "echo"), act("later", "echo")],
        [link("start", "later", delay_seconds=0.2)],
    )
    h, outcome = await run(doc)
    start, later = h.runs()
    assert outcome.status == "success"
    assert start.ended_at is not None
    assert later.started_at - start.ended_at >= timedelta(seconds=0.2)


async def test_several_incoming_links_run_the_target_once_per_trigger() -> None:
    doc = runbook(
        [
            act("start", "echo"),
            act("a", "echo", value="a"),
            act("b", "echo", value="b"),
            act("both", "echo", value="x"),
        ],
        [link("start", "a"), link("start", "b"), link("a", "both"), link("b", "both")],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    assert len(runs["both"]) == 2
    parents = {r.parent_run for r in runs["both"]}
    assert parents == {runs["a"][0].run_id, runs["b"][0].run_id}
    assert all(r.status == "success" for r in runs["both"])
    assert outcome.status == "success"


async def test_two_links_between_the_same_activities_are_two_triggers() -> None:
    doc = runbook(
        [act("start", "echo", value="v"), act("next", "echo", value="{start.Value}")],
        [link("start", "next"), link("start", "next", include=[cond("Value", "equals", "v")])],
    )
    h, _ = await run(doc)
    assert [r.activity for r in h.runs()] == ["start", "next", "next"]
