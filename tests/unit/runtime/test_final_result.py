"""The instance's last run: its result and the outcome are recorded together
(``Store.record_final_result``), and only when nothing else can run after it."""

from __future__ import annotations

import asyncio

import pytest

from actors.memory import MemoryStore
from actors.store import InstanceOutcome, InstanceRef, RunResult
from tests.unit.runtime.helpers import GATES, Gate, Harness, act, cond, link, runbook


class FinalsSeen(MemoryStore):
    """A MemoryStore noting which runs ended their instance with the outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.finals: list[tuple[str, str]] = []

    async def record_final_result(
        self, ref: InstanceRef, result: RunResult, outcome: InstanceOutcome
    ) -> None:
        self.finals.append((result.activity, outcome.status))
        await super().record_final_result(ref, result, outcome)


def _harness(doc: dict) -> tuple[Harness, FinalsSeen]:
    h = Harness(doc)
    store = FinalsSeen()
    h.plan = store.add_job(doc, {})
    h.store = store
    return h, store


async def test_a_chain_records_its_last_result_with_the_outcome() -> None:
    doc = runbook(
        [act("start", "echo", value="a"), act("b", "echo", value="b"), act("c", "echo", value="c")],
        [link("start", "b"), link("b", "c")],
    )
    h, store = _harness(doc)
    outcome = await h.run()
    assert outcome.status == "success"
    assert store.finals == [("c", "success")]
    # the result before the outcome, and the outcome written once
    assert store.writes[-2:] == [("result", h.runs()[-1].run_id), ("outcome", h.instance_id)]
    assert store.outcomes[h.instance_id].status == "success"


async def test_a_failed_last_run_fails_the_instance_in_the_same_record() -> None:
    doc = runbook([act("start", "echo"), act("boom", "fail", message="bad")],
                  [link("start", "boom")])
    h, store = _harness(doc)
    outcome = await h.run()
    assert outcome.status == "failed" and outcome.error == "boom: bad"
    assert store.finals == [("boom", "failed")]


async def test_a_run_with_links_out_is_not_taken_for_the_last() -> None:
    # b's link is not followed (its condition fails): the instance still ends
    # after b, but b had links out, so its outcome is recorded on its own.
    doc = runbook(
        [act("start", "echo", value="x"), act("b", "echo", value="y"), act("c", "echo")],
        [link("start", "b"), link("b", "c", include=[cond("Value", "equals", "z")])],
    )
    h, store = _harness(doc)
    outcome = await h.run()
    assert outcome.status == "success"
    assert [r.activity for r in h.runs()] == ["start", "b"]
    assert store.finals == []
    assert store.writes[-1] == ("outcome", h.instance_id)


async def test_of_two_branches_only_the_one_ending_last_carries_the_outcome() -> None:
    GATES["late"] = late = Gate()
    doc = runbook(
        [act("start", "echo"), act("early", "echo", value="e"),
         act("slowpoke", "gate", gate="late")],
        [link("start", "early"), link("start", "slowpoke")],
    )
    h, store = _harness(doc)
    task = asyncio.create_task(h.run())
    await late.entered.wait()
    # "early" ended while "slowpoke" was still running: not the last
    assert [w[0] for w in store.writes].count("result") == 2
    assert store.finals == []
    late.release.set()
    outcome = await task
    assert outcome.status == "success"
    assert store.finals == [("slowpoke", "success")]


async def test_a_refused_final_result_records_no_outcome() -> None:
    class Refusing(FinalsSeen):
        async def record_run_result(self, ref: InstanceRef, result: RunResult) -> None:
            if result.activity == "b":
                raise RuntimeError("refused")
            await super().record_run_result(ref, result)

    doc = runbook([act("start", "echo"), act("b", "echo")], [link("start", "b")])
    h = Harness(doc)
    store = Refusing()
    h.plan = store.add_job(doc, {})
    h.store = store
    with pytest.raises(RuntimeError, match="refused"):
        await h.run()
    assert h.instance_id not in store.outcomes

