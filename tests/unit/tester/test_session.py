"""The tester's session and the runtime hook it relies on: a skipped run, loop decisions,
link explanations per item, children, quitting, and the expectation checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec

from actors.instance import RuntimeOptions
from orch.document import RunbookTest, load, parse_parameters
from orch.tester import (
    ChildResolver,
    StepController,
    Target,
    Tester,
    final_attempts,
    run_cases,
    run_once,
)
from orch.tester.events import (
    ActivityEnded,
    ChildStarted,
    Event,
    Finished,
    LinkEvaluated,
    LoopEvaluated,
    Paused,
)
from tests.unit.runtime.helpers import REGISTRY, Harness, act, cond, link, runbook
from tests.unit.tester.helpers import EXAMPLES, example


def target(doc: dict[str, Any], folder: Path | None = None) -> Target:
    compiled = load(doc, REGISTRY)
    return Target(data=msgspec.json.encode(doc), compiled=compiled, source="test", folder=folder)


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class Answers:
    """A LineReader stand-in: the next answer per question; None (end of input) after."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.interactive = True

    async def readline(self) -> str | None:
        return self.answers.pop(0) if self.answers else None


def make_tester(observer: Collect, *, controller: StepController | None = None,
           folder: Path | None = None) -> Tester:  # fmt: skip
    return Tester(registry=REGISTRY, observer=observer, resolver=ChildResolver(folder),
                  controller=controller)  # fmt: skip


async def test_before_run_returning_false_skips_the_run_and_kills_its_path() -> None:
    doc = runbook(
        [act("a", "t:echo", value="1"), act("b", "t:echo", value="2"), act("c", "t:echo")],
        [link("a", "b"), link("b", "c")],
    )

    async def before_run(activity: str, run_id: str) -> bool | None:
        return False if activity == "b" else None

    h = Harness(doc, options=RuntimeOptions(before_run=before_run))
    outcome = await h.run()
    assert outcome.status == "success"
    assert [r.activity for r in h.runs()] == ["a"]


async def test_loop_decisions_are_reported_and_only_the_last_attempt_routes() -> None:
    doc = runbook(
        [act("try", "t:attempt", fail_before=3), act("after", "t:echo", value="{try.Attempt}")],
        [link("try", "after")],
    )
    doc["activities"][0]["loop"] = {"until": [cond("Status", "equals", "success")]}
    seen = Collect()
    code = await run_once(make_tester(seen), target(doc), {})
    assert code == 0
    loops = seen.of(LoopEvaluated)
    assert [(e.attempt, e.again) for e in loops] == [(1, True), (2, True), (3, False)]
    assert loops[0].reason == (
        "no until condition holds (Status equals 'success'): attempt 2 follows"
    )
    assert loops[2].reason == (
        "until Status equals 'success' holds (Status is 'success'): the loop ends"
    )
    assert [(e.source, e.target, e.followed) for e in seen.of(LinkEvaluated)] == [
        ("try", "after", True)
    ]
    ended = [e for e in seen.of(ActivityEnded) if e.activity == "try"]
    assert [e.status for e in ended] == ["failed", "failed", "success"]


async def test_links_are_explained_per_item_with_the_actor_conditions() -> None:
    doc = runbook(
        [act("list", "t:items", values=["a", "b", "c"]), act("only_b", "t:echo")],
        [link("list", "only_b", include=[cond("Value", "equals", "b")])],
    )
    seen = Collect()
    assert await run_once(make_tester(seen), target(doc), {}) == 0
    links = seen.of(LinkEvaluated)
    assert [(e.item, e.followed) for e in links] == [(0, False), (1, True), (2, False)]
    assert links[1].reason == "link list → only_b followed: Value equals 'b' (Value is 'b')"
    assert [e.activity for e in seen.of(ActivityEnded)] == ["list", "only_b"]


async def test_failed_and_warning_outcomes_give_exit_codes() -> None:
    failing = runbook([act("a", "t:fail")], [])
    warning = runbook([act("a", "t:warn")], [])
    seen = Collect()
    assert await run_once(make_tester(seen), target(failing), {}) == 1
    assert await run_once(make_tester(seen), target(warning), {}) == 2
    finished = seen.of(Finished)
    assert [(f.status, f.exit_code) for f in finished] == [("failed", 1), ("warning", 2)]
    assert finished[0].error == "a: boom"


async def test_quit_stops_the_runbook_and_its_children(tmp_path: Path) -> None:
    # the child pauses (step mode reaches into children); quitting there stops both
    (tmp_path / "child.json").write_text(
        '{"format": "orch.runbook/1", "name": "C", "folder": "/T",'
        ' "activities": [{"id": "x", "type": "t:echo"}, {"id": "y", "type": "t:echo"}],'
        ' "links": [{"from": "x", "to": "y"}]}'
    )
    parent = runbook([act("call", "core:invoke_runbook", runbook="/T/C")], [])
    seen = Collect()
    controller = StepController(step=True, breaks=frozenset(), reader=Answers("s", "s", "q"),
                                prompt=None, say=lambda _: None)  # type: ignore[arg-type]  # fmt: skip
    code = await asyncio.wait_for(
        run_once(make_tester(seen, controller=controller, folder=tmp_path), target(parent), {}), 30
    )
    assert code == 1
    assert [(p.runbook, p.activity) for p in seen.of(Paused)] == [
        ("/tests/test", "call"), ("/T/C", "x"), ("/T/C", "y"),
    ]  # fmt: skip
    assert seen.of(ChildStarted)[0].source == str(tmp_path / "child.json")
    assert seen.of(Finished)[0].status == "stopped"
    child_runs = [e for e in seen.of(ActivityEnded) if e.runbook == "/T/C"]
    assert [e.activity for e in child_runs] == ["x"]


async def test_break_points_apply_to_the_runbook_under_test_only(tmp_path: Path) -> None:
    (tmp_path / "child.json").write_text(
        '{"format": "orch.runbook/1", "name": "C", "folder": "/T",'
        ' "activities": [{"id": "call", "type": "t:echo"}]}'
    )
    parent = runbook([act("call", "core:invoke_runbook", runbook="child.json")], [])
    seen = Collect()
    controller = StepController(step=False, breaks=frozenset({"call"}), reader=Answers("c"),
                                prompt=None, say=lambda _: None)  # type: ignore[arg-type]  # fmt: skip
    t = make_tester(seen, controller=controller, folder=tmp_path)
    code = await run_once(t, target(parent), {})
    assert code == 0
    assert [(p.runbook, p.why) for p in seen.of(Paused)] == [("/tests/test", "break")]


async def test_run_cases_checks_each_case_in_a_fresh_session() -> None:
    doc = runbook(
        [act("try", "t:attempt", fail_before=2), act("after", "t:echo", value="x")],
        [link("try", "after")],
    )
    doc["activities"][0]["loop"] = {"until": [cond("Status", "equals", "success")]}
    doc["tests"] = [
        {"name": "retries", "expect": {"status": "success",
                                       "activities": {"try": "success", "after": "success"}}},
    ]  # fmt: skip
    t = target(doc)
    seen = Collect()
    # the failed first attempt does not count: only the last attempt of a loop does
    assert await run_cases(make_tester(seen), t, t.compiled.runbook.tests) == 0


async def test_final_attempts_keep_the_last_attempt_of_each_trigger() -> None:
    doc = runbook([act("list", "t:items", values=["a", "b"]), act("try", "t:attempt",
                  fail_before=2)], [link("list", "try")])  # fmt: skip
    doc["activities"][1]["loop"] = {"until": [cond("Status", "equals", "success")]}
    h = Harness(doc)
    await h.run()
    runs = h.runs()
    assert len([r for r in runs if r.activity == "try"]) == 4
    final = [r for r in final_attempts(runs) if r.activity == "try"]
    assert sorted((r.item, r.attempt, r.status) for r in final) == [
        (0, 2, "success"), (1, 2, "success")
    ]  # fmt: skip


async def test_bad_parameters_of_a_case_fail_the_case() -> None:
    t = target(example("hello"), EXAMPLES)
    seen = Collect()
    case = RunbookTest(name="typo", parameters={"Nme": "x"})
    assert await run_cases(make_tester(seen), t, [case]) == 1
    result = seen.events[0]
    assert result.passed is False and result.status == "not run"  # type: ignore[attr-defined]
    assert result.failures[0].startswith("its parameters are invalid: $.parameters.Nme")  # type: ignore[attr-defined]
    assert parse_parameters(t.compiled, {"Name": "x"}) == {"Name": "x"}
