"""A runbook's test cases: does a run meet the case's expectations?

Each expectation is checked only when the case gives it. Returned data is
compared as text (``42`` and ``"42"`` are the same value) and only for the
names the case lists. An activity's expected status must hold for each of
its runs — for a loop, the last attempt of each run, the one whose data
follows the links — and ``not_run`` means it never started.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.store import RecordedRun
from orch.document import RunbookTest, as_text
from orch.tester.session import RunReport


def final_attempts(runs: Iterable[RecordedRun]) -> list[RecordedRun]:
    """Runs without the loop attempts a later attempt of the same trigger replaced."""
    last: dict[tuple[object, ...], RecordedRun] = {}
    for r in runs:
        key = (r.activity, r.parent_run, r.item, r.lineage)
        prior = last.get(key)
        if prior is None or r.attempt >= prior.attempt:
            last[key] = r
    kept = {id(r) for r in last.values()}
    return [r for r in runs if id(r) in kept]


def check(case: RunbookTest, report: RunReport) -> list[str]:
    """One sentence per expectation of ``case`` that ``report`` does not meet."""
    failures: list[str] = []
    expect = case.expect
    outcome = report.outcome
    if expect.status is not None and outcome.status != expect.status:
        why = f" ({outcome.error})" if outcome.error else ""
        failures.append(f"expected the runbook to end {expect.status}, it ended {outcome.status}"
                        f"{why}")  # fmt: skip
    for name, value in (expect.returned_data or {}).items():
        want = as_text(value)
        got = outcome.returned_data.get(name)
        if got is None:
            failures.append(f"expected returned data {name}={want!r}, but no {name} was returned")
        elif got != want:
            failures.append(f"expected returned data {name}={want!r}, got {got!r}")
    runs = final_attempts(report.runs)
    for activity, want in expect.activities.items():
        statuses = [r.status for r in runs if r.activity == activity]
        if want == "not_run":
            if statuses:
                failures.append(f"expected {activity} not to run, it ran {_times(statuses)}")
        elif not statuses:
            failures.append(f"expected {activity} to end {want}, it did not run")
        elif any(s != want for s in statuses):
            failures.append(f"expected {activity} to end {want}, it ran {_times(statuses)}")
    return failures


def _times(statuses: list[str]) -> str:
    if len(statuses) == 1:
        return f"once ({statuses[0]})"
    return f"{len(statuses)} times ({', '.join(statuses)})"
