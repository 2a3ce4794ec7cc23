"""Published data, runbook data, variables, input conversion, returned data,
durability order and events."""

from __future__ import annotations

import asyncio
import re

from tests.unit.runtime.helpers import (
    GATES,
    Events,
    Gate,
    Harness,
    act,
    by_activity,
    cond,
    link,
    run,
    runbook,
    wait_for,
)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def test_every_run_publishes_the_common_fields_as_text() -> None:
    doc = runbook(
        [
            {"id": "start", "type": "compare_values", "name": "Check it", "properties": {}},
            act("bad", "fail", message="went wrong"),
        ],
        [link("start", "bad")],
    )
    h, _ = await run(doc)
    ok, bad = h.runs()
    (item,) = ok.published
    assert set(item) == {"Result", "Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName"}
    assert (item["Result"], item["Status"], item["ErrorSummary"], item["ActivityName"]) == (
        "true",
        "success",
        "",
        "Check it",
    )
    assert RFC3339.match(item["StartTime"]) and RFC3339.match(item["EndTime"])
    assert item["StartTime"] <= item["EndTime"]
    assert bad.published == [
        {
            "Status": "failed",
            "StartTime": bad.published[0]["StartTime"],
            "EndTime": bad.published[0]["EndTime"],
            "ErrorSummary": "went wrong",
            "ActivityName": "bad",
        }
    ]
    assert bad.error == "went wrong"


async def test_runbook_data_and_variables() -> None:
    doc = runbook(
        [
            act(
                "start",
                "echo",
                value="{runbook.Name}|{runbook.JobId}|{runbook.InstanceId}|{runbook.Server}"
                "|{variable:Env}",
            ),
            act("again", "echo", value="{variable:Env}{variable:Other}"),
        ],
        [link("start", "again")],
        name="Data test",
    )
    h, outcome = await run(doc, variables={"Env": "prod", "Other": "!", "Unused": "x"})
    start, again = h.runs()
    ref = h.plan.ref
    assert start.published[0]["Value"] == f"Data test|{ref.job_id}|{ref.instance_id}|local|prod"
    assert again.published[0]["Value"] == "prod!"
    assert h.variables.fetches == [frozenset({"Env", "Other"})]  # prefetched once
    assert outcome.status == "success"


async def test_missing_variable_fails_the_run() -> None:
    h, outcome = await run(runbook([act("start", "echo", value="{variable:Nope}")], []))
    (r,) = h.runs()
    assert r.status == "failed"
    assert r.error is not None and "{variable:Nope} has no value" in r.error
    assert outcome.status == "failed"


async def test_inputs_are_converted_and_errors_name_the_property() -> None:
    doc = runbook(
        [
            act("start", "echo", value="abc"),
            act("w", "wait", seconds="{start.Value}"),
            act("w2", "wait", seconds="0"),
        ],
        [link("start", "w"), link("start", "w2")],
    )
    h, _ = await run(doc)
    runs = by_activity(h.runs())
    (w,) = runs["w"]
    assert w.status == "failed"
    assert w.error == "property seconds: Expected `float`, got `str`"
    assert runs["w2"][0].status == "success"  # text "0" converted to a number


async def test_return_data_last_run_wins() -> None:
    doc = runbook(
        [
            act("start", "items", values=["1", "2", "3"]),
            act("ret", "return_data", data={"Last": "{start.Value}", "Fixed": "f"}),
        ],
        [link("start", "ret")],
        returns=[{"name": "Last"}, {"name": "Fixed"}],
    )
    h, outcome = await run(doc)
    rets = by_activity(h.runs())["ret"]
    last = max(rets, key=lambda r: r.ended_at)
    assert outcome.returned_data == {"Last": last.returned_data["Last"], "Fixed": "f"}
    assert h.store.jobs[h.plan.ref.job_id].returned_data == outcome.returned_data


async def test_returned_data_of_a_failed_run_is_not_applied() -> None:
    # Mid's position is 1-based: 0 fails the run when it renders
    doc = runbook(
        [act("start", "echo"), act("ret", "return_data", data={"Out": "[Mid('abc', 0, 1)]"})],
        [link("start", "ret")],
        returns=[{"name": "Out"}],
    )
    h, outcome = await run(doc)
    (ret,) = by_activity(h.runs())["ret"]
    assert ret.status == "failed" and ret.returned_data is None
    assert outcome.returned_data == {}


async def test_results_are_recorded_before_downstream_starts() -> None:
    doc = runbook(
        [
            act("start", "items", values=["a", "b"]),
            act("prog", "run_program", program="true"),
            act("after", "echo"),
        ],
        [link("start", "prog"), link("prog", "after")],
    )
    h, _ = await run(doc)
    runs = {r.run_id: r for r in h.runs()}
    writes = h.store.writes
    for r in runs.values():
        if r.parent_run is not None:
            assert writes.index(("result", r.parent_run)) < writes.index(("start", r.run_id))
    durable = {runs[rid].activity for rid in h.store.durable_starts}
    assert durable == {"prog"}  # run_program is not rerunnable; items/echo are
    assert writes[-1] == ("outcome", h.instance_id)


async def test_events_once_and_in_order() -> None:
    doc = runbook(
        [
            act("start", "items", values=["a", "b"]),
            act("each", "echo", value="{start.Value}"),
            act("bad", "fail"),
        ],
        [link("start", "each"), link("each", "bad", include=[cond("Value", "equals", "b")])],
    )
    h, outcome = await run(doc)
    events = h.events.events
    assert (events[0].kind, events[0].status) == ("instance", "running")
    assert (events[-1].kind, events[-1].status, events[-1].error) == (
        "instance",
        "failed",
        "bad: boom",
    )
    assert all(e.instance_id == h.instance_id and e.job_id == h.plan.ref.job_id for e in events)
    run_events = events[1:-1]
    assert all(e.kind == "activity" for e in run_events)
    by_run: dict[str, list[str]] = {}
    for e in run_events:
        assert e.run_id is not None
        by_run.setdefault(e.run_id, []).append(e.status)
    recorded = {r.run_id: r.status for r in h.runs()}
    assert by_run == {rid: ["running", status] for rid, status in recorded.items()}
    finished = [e for e in run_events if e.status != "running"]
    assert [e.published for e in finished] == [
        next(r.published for r in h.runs() if r.run_id == e.run_id) for e in finished
    ]
    assert outcome.status == "failed"


async def test_events_on_resume_are_not_repeated() -> None:
    GATES["events-resume"] = g = Gate()
    doc = runbook(
        [act("start", "echo"), act("b", "gate", gate="events-resume"), act("c", "echo")],
        [link("start", "b"), link("b", "c")],
    )
    h = Harness(doc)
    task = asyncio.create_task(h.run())
    await g.entered.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    first = list(h.events.events)
    g.release.set()
    second = Events()
    await h.run(h.store.take_over(h.instance_id), sink=second)
    await wait_for(lambda: second.events[-1].kind == "instance")
    kinds = [(e.kind, e.activity, e.status) for e in second.events]
    assert kinds == [
        ("activity", "b", "running"),
        ("activity", "b", "success"),
        ("activity", "c", "running"),
        ("activity", "c", "success"),
        ("instance", None, "success"),
    ]
    assert [(e.kind, e.activity, e.status) for e in first] == [
        ("instance", None, "running"),
        ("activity", "start", "running"),
        ("activity", "start", "success"),
        ("activity", "b", "running"),
    ]
