"""The Runbook Tester (``orch test``): run a runbook in memory and watch every step.

The runbook runs on the real instance actor over the in-memory store — no
runbook server, no database. :class:`TestSession` turns the actor's events
into tester events (:mod:`orch.tester.events`) with each link's evaluation;
:mod:`orch.tester.render` writes them as text or JSON lines;
:class:`StepController` pauses before activities; :mod:`orch.tester.cases`
checks a document's test cases.
"""

from orch.tester.cases import check, final_attempts
from orch.tester.children import ChildResolver, Found
from orch.tester.render import JsonRenderer, TextRenderer
from orch.tester.runner import (
    Target,
    TargetInvalid,
    Tester,
    fetch,
    load_file,
    run_cases,
    run_once,
    select_cases,
)
from orch.tester.session import InstanceView, RunReport, TestSession, exit_code
from orch.tester.step import LineReader, StepController

__all__ = [
    "ChildResolver",
    "Found",
    "InstanceView",
    "JsonRenderer",
    "LineReader",
    "RunReport",
    "StepController",
    "Target",
    "TargetInvalid",
    "TestSession",
    "Tester",
    "TextRenderer",
    "check",
    "exit_code",
    "fetch",
    "final_attempts",
    "load_file",
    "run_cases",
    "run_once",
    "select_cases",
]
