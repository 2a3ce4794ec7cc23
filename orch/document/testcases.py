"""The rules for a runbook's test cases (``tests``), part of the one validation pass.

A test case names parameters, returned data and activities; a typo there would
make the case test nothing (an expectation on an undeclared return can never
hold, one on an unknown activity never runs), so each name is checked like
any other reference in the document.
"""

from __future__ import annotations

from orch.document.faults import Fault
from orch.document.model import Parameter, Runbook
from orch.document.properties import child_path
from orch.document.values import canonical


def check_tests(
    runbook: Runbook, start: str | None, parameters: tuple[Parameter, ...]
) -> list[Fault]:
    """Every fault of ``runbook.tests`` (names, parameters, expectations).

    ``start``: the starting activity (None when the graph has none: parameters
    are then not checked); ``parameters``: the runbook's parameters."""
    faults: list[Fault] = []
    seen: set[str] = set()
    returns = [r.name for r in runbook.returns]
    activities = {a.id for a in runbook.activities}
    for i, case in enumerate(runbook.tests):
        base = f"$.tests[{i}]"
        if not case.name.strip():
            faults.append(Fault(f"{base}.name", "a test case needs a name", "bad-test-name"))
        elif case.name in seen:
            faults.append(
                Fault(
                    f"{base}.name", f"test case {case.name!r} is declared twice", "duplicate-test"
                )
            )
        seen.add(case.name)
        if start is not None:
            faults.extend(_parameter_faults(case.parameters, parameters, f"{base}.parameters"))
        expect = case.expect
        where = f"{base}.expect.returned_data"
        for name in expect.returned_data or {}:
            if name not in returns:
                hint = f"declared: {', '.join(returns)}" if returns else "it declares none"
                faults.append(
                    Fault(
                        child_path(where, name),
                        f"{name!r} is not one of the runbook's returns ({hint})",
                        "undeclared-return",
                    )
                )
        where = f"{base}.expect.activities"
        for aid in expect.activities:
            if aid not in activities:
                faults.append(
                    Fault(child_path(where, aid), f"no activity has id {aid!r}", "unknown-activity")
                )
    return faults


def _parameter_faults(
    given: dict[str, object], parameters: tuple[Parameter, ...], base: str
) -> list[Fault]:
    """The case's parameters against the start activity's (as a job's would be checked)."""
    faults: list[Fault] = []
    declared = {p.name: p for p in parameters}
    for name, value in given.items():
        p = declared.get(name)
        if p is None:
            names = ", ".join(declared) or "none"
            faults.append(
                Fault(
                    child_path(base, name),
                    f"the runbook has no parameter {name!r} (its parameters: {names})",
                    "unknown-parameter",
                )
            )
            continue
        try:
            canonical(value, p.type)
        except ValueError as e:
            faults.append(Fault(child_path(base, name), str(e), "bad-parameter"))
    for p in parameters:
        required = p.required if p.required is not None else p.default is None
        if required and p.name not in given:
            faults.append(
                Fault(
                    child_path(base, p.name),
                    f"the parameter {p.name!r} is required",
                    "missing-parameter",
                )
            )
    return faults
