"""The actor's own contracts: mailboxes, task names, the before-run hook,
monitor start data, an invalid pinned document, a program killed on timeout."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from actors.instance import InstanceActor, RuntimeOptions
from actors.mailbox import Mailbox, MailboxClosed
from actors.memory import MemoryStore
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
    runbook,
    summary,
    wait_for,
)


async def test_mailbox_is_bounded_and_closes() -> None:
    box: Mailbox[int] = Mailbox(2)
    assert box.try_put(1) and box.try_put(2)
    assert not box.try_put(3)
    putter = asyncio.create_task(box.put(3))
    await asyncio.sleep(0)
    assert not putter.done()
    assert box.pop() == 1
    await putter
    assert [box.pop(), box.pop(), box.pop()] == [2, 3, None]
    box.try_put(4)
    box.try_put(5)
    blocked = asyncio.create_task(box.put(6))
    await asyncio.sleep(0)
    assert box.close() == [4, 5]
    with pytest.raises(MailboxClosed):
        await blocked
    with pytest.raises(MailboxClosed):
        box.try_put(7)
    with pytest.raises(ValueError):
        Mailbox(0)


async def test_task_names_say_instance_activity_and_run() -> None:
    GATES["names"] = g = Gate()
    h = Harness(runbook([act("start", "gate", gate="names")], []))
    task = asyncio.create_task(h.run())
    await g.entered.wait()
    (run,) = h.runs()
    names = {t.get_name() for t in asyncio.all_tasks()}
    assert f"{h.instance_id}/start/{run.run_id}" in names
    g.release.set()
    assert (await task).status == "success"


async def test_before_run_hook_steps_through_the_instance() -> None:
    seen: list[str] = []
    step = asyncio.Semaphore(0)

    async def before_run(activity: str, run_id: str) -> None:
        seen.append(activity)
        await step.acquire()

    doc = runbook(
        [act("start", "echo"), act("a", "echo"), act("b", "echo")],
        [link("start", "a"), link("a", "b")],
    )
    h = Harness(doc, options=RuntimeOptions(before_run=before_run))
    task = asyncio.create_task(h.run())
    for expected in (["start"], ["start", "a"], ["start", "a", "b"]):
        await wait_for(lambda e=expected: seen == e)
        assert len([r for r in h.runs() if r.ended_at]) == len(expected) - 1
        step.release()
    assert (await task).status == "success"


async def test_a_stop_asked_from_inside_a_run_ends_the_instance_stopped() -> None:
    # The start run executes in the instance's own task: a hook stopping the
    # instance from there must not cancel that task (it would end the instance
    # with CancelledError instead of 'stopped').
    h: Harness

    async def before_run(activity: str, run_id: str) -> bool | None:
        await asyncio.sleep(0)  # a real await in the hook, as a prompt has
        if activity == "a":
            assert h.actor is not None
            h.actor.stop()
            return False
        return None

    doc = runbook([act("start", "echo"), act("a", "echo")], [link("start", "a")])
    h = Harness(doc, options=RuntimeOptions(before_run=before_run))
    outcome = await h.run()
    assert outcome.status == "stopped"
    assert [r.activity for r in h.runs()] == ["start"]


async def test_start_data_replaces_running_the_start_activity() -> None:
    doc = runbook(
        [act("start", "items", values=["ignored"]), act("each", "echo", value="{start.Value}")],
        [link("start", "each")],
    )
    h = Harness(doc)
    actor = InstanceActor(
        h.plan,
        h.store,
        registry=REGISTRY,
        compiled=h.compiled,
        start_data=[{"Value": "t1"}, {"Value": "t2"}],
    )
    outcome = await actor.run()
    assert summary(h.runs()) == [
        ("start", "success", 0, ("t1", "t2")),
        ("each", "success", 0, ("t1",)),
        ("each", "success", 1, ("t2",)),
    ]
    assert outcome.status == "success"


async def test_an_invalid_pinned_document_fails_the_instance() -> None:
    store = MemoryStore()
    plan = store.add_job(runbook([act("start", "no_such_type")], []))
    outcome = await InstanceActor(plan, store, registry=REGISTRY).run()
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.startswith("the runbook version is invalid")
    assert store.runs_of(plan.ref.instance_id) == []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_program_timeout_kills_it_and_follows_the_failure_link(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    doc = runbook(
        [
            {
                "id": "prog",
                "type": "run_program",
                "properties": {"program": sys.executable, "args": ["-c", literal(code)]},
                "timeout_seconds": 1,
            },
            act("on_fail", "echo", value="{prog.ErrorSummary}"),
        ],
        [link("prog", "on_fail", include=[cond("Status", "equals", "failed")])],
    )
    h = Harness(doc)
    outcome = await h.run()
    runs = by_activity(h.runs())
    assert (runs["prog"][0].status, runs["prog"][0].error) == ("failed", "timeout")
    assert runs["on_fail"][0].published[0]["Value"] == "timeout"
    assert not _alive(int(pid_file.read_text()))
    assert outcome.status == "success"


async def test_a_lost_ownership_surfaces_as_itself() -> None:
    from actors.store import StaleOwner

    GATES["fenced"] = g = Gate()
    doc = runbook([act("start", "gate", gate="fenced"), act("b", "echo")], [link("start", "b")])
    h = Harness(doc)
    task = asyncio.create_task(h.run())
    await g.entered.wait()
    h.store.take_over(h.instance_id)  # another server took the instance over
    g.release.set()
    with pytest.raises(StaleOwner):
        await task
    assert h.instance_id not in h.store.outcomes
