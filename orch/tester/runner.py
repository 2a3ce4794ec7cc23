"""The Runbook Tester's entry points: load what to test, run it once or run its cases.

``run_once`` runs a runbook with parameters and returns the exit status of
``orch job start --wait`` (0 success, 2 warning, 1 otherwise). ``run_cases``
runs the document's test cases, each in a fresh in-memory session, and
returns 0 when every case passed, else 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orch.client import Client
from orch.document import CompiledRunbook, DocumentInvalid, RunbookTest, load, parse_parameters
from orch.errors import NotFound
from orch.sdk import Registry
from orch.tester.cases import check
from orch.tester.children import ChildResolver
from orch.tester.events import CaseResult, CasesSummary, Event, FaultInfo, Invalid
from orch.tester.session import Observer, TestSession
from orch.tester.step import StepController


@dataclass(frozen=True, slots=True)
class Target:
    """A runbook to test: its document, compiled, and where it came from."""

    data: bytes
    compiled: CompiledRunbook
    source: str
    folder: Path | None
    """Where its children are looked up as files (None: it came from a gateway)."""


class TargetInvalid(Exception):
    """The document to test is invalid; ``event`` lists every fault."""

    def __init__(self, event: Invalid) -> None:
        super().__init__(f"{event.source}: invalid runbook document")
        self.event = event


def invalid(source: str, error: DocumentInvalid) -> Invalid:
    return Invalid(
        source=source,
        faults=[FaultInfo(path=f.path, message=f.message, code=f.code) for f in error.faults],
    )


def load_file(file: Path, registry: Registry) -> Target:
    """A runbook file, validated and compiled; TargetInvalid with every fault."""
    data = file.read_bytes()
    try:
        compiled = load(data, registry)
    except DocumentInvalid as e:
        raise TargetInvalid(invalid(str(file), e)) from None
    return Target(data=data, compiled=compiled, source=str(file), folder=file.parent)


async def fetch(client: Client, ref: str, registry: Registry) -> Target:
    """The current version of a checked-in runbook (by path or id) from a gateway."""
    found = await ChildResolver(None, client).find(ref)
    try:
        compiled = load(found.data, registry)
    except DocumentInvalid as e:
        raise TargetInvalid(invalid(found.source, e)) from None
    return Target(data=found.data, compiled=compiled, source=found.source, folder=None)


@dataclass(frozen=True, slots=True)
class Tester:
    """What every run of one ``orch test`` shares."""

    __test__ = False  # not a pytest class

    registry: Registry
    observer: Observer
    resolver: ChildResolver
    controller: StepController | None = None
    variables: Mapping[str, str] | None = None

    def session(self, observer: Observer | None = None) -> TestSession:
        return TestSession(
            self.registry,
            observer or self.observer,
            resolver=self.resolver,
            controller=self.controller,
            variables=self.variables,
        )


async def run_once(tester: Tester, target: Target, parameters: Mapping[str, Any]) -> int:
    """Run the runbook once; the exit status of its outcome (1 for bad parameters)."""
    try:
        params = parse_parameters(target.compiled, dict(parameters))
    except DocumentInvalid as e:
        tester.observer(invalid(target.source, e))
        return 1
    report = await tester.session().run(target.compiled, target.data, params, source=target.source)
    return report.exit_code


def select_cases(compiled: CompiledRunbook, names: Sequence[str]) -> list[RunbookTest]:
    """The named cases (all when none is named); NotFound for an unknown name."""
    cases = list(compiled.runbook.tests)
    if not names:
        return cases
    by_name = {c.name: c for c in cases}
    for name in names:
        if name not in by_name:
            known = ", ".join(repr(n) for n in by_name) or "it has none"
            raise NotFound(f"{compiled.path} has no test case {name!r} (its cases: {known})")
    return [by_name[n] for n in names]


async def run_cases(
    tester: Tester,
    target: Target,
    cases: Sequence[RunbookTest],
    *,
    trace: Callable[[Event], None] | None = None,
) -> int:
    """Run each case in a fresh session; report each and a summary. 0 when all passed.

    ``trace`` receives the runs' events (None: only results are reported).
    """
    passed = 0
    for case in cases:
        observer = trace if trace is not None else _discard
        try:
            params = parse_parameters(target.compiled, dict(case.parameters))
        except DocumentInvalid as e:
            failures = [f"its parameters are invalid: {f}" for f in e.faults]
            tester.observer(CaseResult(name=case.name, passed=False, status="not run",
                                       returned_data={}, failures=failures))  # fmt: skip
            continue
        report = await tester.session(observer).run(
            target.compiled, target.data, params, source=target.source, case=case.name
        )
        failures = check(case, report)
        passed += not failures
        tester.observer(
            CaseResult(
                name=case.name,
                passed=not failures,
                status=report.outcome.status,
                returned_data=dict(report.outcome.returned_data),
                failures=failures,
            )
        )
    failed = len(cases) - passed
    code = 1 if failed else 0
    tester.observer(CasesSummary(total=len(cases), passed=passed, failed=failed, exit_code=code))
    return code


def _discard(event: Event) -> None:
    return None
