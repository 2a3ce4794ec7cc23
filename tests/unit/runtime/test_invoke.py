"""invoke_runbook through the in-memory child launcher."""

from __future__ import annotations

import asyncio

from actors.memory import runbook_id_for
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
)

CHILD = runbook(
    [
        act("start", "initialize_data", parameters=[{"name": "Who", "type": "string"}]),
        act("ret", "return_data", data={"Greeting": "hello {start.Who}"}),
    ],
    [link("start", "ret")],
    name="Child",
    folder="/lib",
    returns=[{"name": "Greeting"}],
)
FAILING_CHILD = runbook([act("start", "fail", message="child broke")], [], name="Bad")


def parent(**invoke_props) -> dict:
    return runbook(
        [
            act("start", "echo", value="world"),
            act("inv", "invoke_runbook", **invoke_props),
            act("use", "echo", value="{inv.Greeting}/{inv.ChildJobId}"),
        ],
        [link("start", "inv"), link("inv", "use")],
        name="Parent",
    )


async def test_invoke_waits_and_publishes_the_child_returned_data() -> None:
    doc = parent(runbook="/lib/Child", parameters={"Who": "{start.Value}"})
    h, outcome = await run(doc, runbooks={"/lib/Child": CHILD})
    runs = by_activity(h.runs())
    (inv,) = runs["inv"]
    child_job = inv.published[0]["ChildJobId"]
    assert inv.status == "success"
    assert inv.published[0]["Greeting"] == "hello world"
    assert runs["use"][0].published[0]["Value"] == f"hello world/{child_job}"
    job = h.store.jobs[child_job]
    assert (job.status, job.returned_data, job.parent_job, job.parameters) == (
        "success",
        {"Greeting": "hello world"},
        h.plan.ref.job_id,
        {"Who": "world"},
    )
    assert outcome.status == "success"


async def test_invoke_by_id_without_waiting() -> None:
    props = {"runbook": runbook_id_for("/lib/Child"), "parameters": {"Who": "x"}, "wait": False}
    doc = runbook([act("start", "invoke_runbook", **props)], [])
    h, outcome = await run(doc, runbooks={"/lib/Child": CHILD})
    (inv,) = h.runs()
    assert inv.status == "success", inv.error
    assert set(inv.published[0]) == {
        "ChildJobId", "Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName",
    }  # fmt: skip
    child = h.store.jobs[inv.published[0]["ChildJobId"]]
    assert (child.status, child.returned_data) == ("success", {"Greeting": "hello x"})
    assert outcome.status == "success"


async def test_failed_child_fails_the_invoke_run() -> None:
    doc = runbook(
        [
            act("start", "invoke_runbook", runbook="/Bad"),
            act("handle", "echo", value="{start.ChildJobId}"),
        ],
        [link("start", "handle", include=[cond("Status", "equals", "failed")])],
    )
    h, outcome = await run(doc, runbooks={"/Bad": FAILING_CHILD})
    inv, handle = h.runs()
    child_job = inv.published[0]["ChildJobId"]
    assert (inv.status, inv.error) == ("failed", f"child job {child_job} ended failed")
    assert handle.published[0]["Value"] == child_job
    assert h.store.jobs[child_job].error == "start: child broke"
    assert outcome.status == "success"


async def test_unknown_child_runbook() -> None:
    h, outcome = await run(runbook([act("start", "invoke_runbook", runbook="/nope")], []))
    (inv,) = h.runs()
    assert (inv.status, inv.error) == ("failed", "no runbook /nope")
    assert outcome.status == "failed"


async def test_bad_child_parameters_fail_the_invoke_run() -> None:
    doc = parent(runbook="/lib/Child", parameters={"Whom": "x"})
    h, _ = await run(doc, runbooks={"/lib/Child": CHILD})
    inv = by_activity(h.runs())["inv"][0]
    assert inv.status == "failed"
    assert inv.error is not None and "Whom" in inv.error


async def test_stopping_the_parent_stops_the_waited_child() -> None:
    GATES["child-gate"] = g = Gate()
    child = runbook([act("start", "gate", gate="child-gate")], [], name="Slow")
    h = Harness(
        runbook([act("start", "invoke_runbook", runbook="/Slow")], []),
        runbooks={"/Slow": child},
    )
    task = asyncio.create_task(h.run())
    await g.entered.wait()
    assert h.actor is not None
    h.actor.stop()
    outcome = await asyncio.wait_for(task, 10)
    assert outcome.status == "stopped"
    (inv,) = h.runs()
    assert inv.status == "stopped"
    child_jobs = [j for j in h.store.jobs.values() if j.parent_job == h.plan.ref.job_id]
    assert [j.status for j in child_jobs] == ["stopped"]
    assert g.cancelled == 1
