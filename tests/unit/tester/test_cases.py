"""Runbook test cases (``tests``): validation of what they name, pass and fail through
``orch test``, ``--case``, and the expectation checks themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orch.document import DocumentInvalid, load
from tests.unit.tester.helpers import events, example, lines, orch_test, write


def with_tests(tests: list[dict[str, Any]]) -> dict[str, Any]:
    doc = example("branching")
    doc["tests"] = tests
    return doc


CASES = [
    {"name": "small numbers", "parameters": {"Number": 3},
     "expect": {"status": "success", "returned_data": {"Size": "small"},
                "activities": {"small": "success", "big": "not_run"}}},
    {"name": "the answer", "expect": {"returned_data": {"Size": "the answer (42)"}}},
    {"name": "wrong on purpose", "parameters": {"Number": 500},
     "expect": {"status": "failed", "returned_data": {"Size": "medium"},
                "activities": {"medium": "success", "big": "not_run", "measure": "failed"}}},
]  # fmt: skip


# ---- validation ---------------------------------------------------------------------------------


def faults_of(doc: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DocumentInvalid) as info:
        load(doc)
    return [(f.path, f.code) for f in info.value.faults]


def test_valid_cases_load_and_keep_their_expectations() -> None:
    compiled = load(with_tests(CASES))
    first = compiled.runbook.tests[0]
    assert first.name == "small numbers" and first.parameters == {"Number": 3}
    assert first.expect.activities == {"small": "success", "big": "not_run"}
    assert compiled.runbook.tests[1].expect.status is None


def test_expectations_must_name_declared_returns_and_existing_activities() -> None:
    doc = with_tests([
        {"name": "a", "parameters": {"Numbr": 1, "Number": "x"},
         "expect": {"returned_data": {"Sise": "small"}, "activities": {"smal": "success"}}},
        {"name": "a"},
        {"name": " "},
    ])  # fmt: skip
    assert faults_of(doc) == [
        ("$.tests[0].parameters.Numbr", "unknown-parameter"),
        ("$.tests[0].parameters.Number", "bad-parameter"),
        ("$.tests[0].expect.returned_data.Sise", "undeclared-return"),
        ("$.tests[0].expect.activities.smal", "unknown-activity"),
        ("$.tests[1].name", "duplicate-test"),
        ("$.tests[2].name", "bad-test-name"),
    ]


def test_case_types_are_checked_when_decoding() -> None:
    doc = with_tests([{"name": "x", "expect": {"status": "fine"}}])
    assert faults_of(doc) == [("$.tests[0].expect.status", "bad-value")]
    doc = with_tests([{"name": "x", "expect": {"activities": {"start": "ran"}}}])
    assert faults_of(doc) == [("$.tests[0].expect.activities[...]", "bad-value")]
    doc = with_tests([{"name": "x", "expected": {}}])
    assert faults_of(doc) == [("$.tests[0].expected", "unknown-key")]


def test_required_parameter_missing_from_a_case() -> None:
    doc = example("hello")
    doc["tests"] = [{"name": "nobody"}]
    assert faults_of(doc) == [("$.tests[0].parameters.Name", "missing-parameter")]


# ---- running ------------------------------------------------------------------------------------


def test_cases_pass_and_fail(tmp_path: Path) -> None:
    file = write(tmp_path, "branching.json", with_tests(CASES))
    result = orch_test(str(file))
    assert result.exit_code == 1, result.output
    assert lines(result) == [
        "PASS small numbers (success)",
        "PASS the answer (success)",
        "FAIL wrong on purpose (success)",
        "     expected the runbook to end failed, it ended success",
        "     expected returned data Size='medium', got 'big'",
        "     expected medium to end success, it did not run",
        "     expected big not to run, it ran once (success)",
        "     expected measure to end failed, it ran once (success)",
        "3 cases: 2 passed, 1 failed",
    ]


def test_all_passing_cases_exit_0_and_json(tmp_path: Path) -> None:
    file = write(tmp_path, "branching.json", with_tests(CASES[:2]))
    result = orch_test(str(file), "--json")
    assert result.exit_code == 0, result.output
    evs = events(result)
    assert [(e["event"], e.get("name"), e.get("passed")) for e in evs] == [
        ("case", "small numbers", True),
        ("case", "the answer", True),
        ("summary", None, 2),
    ]
    assert evs[-1] == {"event": "summary", "total": 2, "passed": 2, "failed": 0, "exit_code": 0}
    assert evs[0]["returned_data"] == {"Size": "small"}


def test_one_case_shows_its_trace(tmp_path: Path) -> None:
    file = write(tmp_path, "branching.json", with_tests(CASES))
    result = orch_test(str(file), "--case", "small numbers")
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert out[0] == f"Testing case 'small numbers' of /Examples/Branching ({file})"
    assert "▶ small" in out
    assert out[-2:] == ["PASS small numbers (success)", "1 case: 1 passed, 0 failed"]

    failing = orch_test(str(file), "--case", "wrong on purpose")
    assert failing.exit_code == 1


def test_unknown_case_is_an_error(tmp_path: Path) -> None:
    file = write(tmp_path, "branching.json", with_tests(CASES))
    result = orch_test(str(file), "--case", "nope")
    assert result.exit_code == 1
    assert "has no test case 'nope' (its cases: 'small numbers', 'the answer', " in result.stderr


def test_parameters_or_no_cases_run_the_runbook_once(tmp_path: Path) -> None:
    file = write(tmp_path, "branching.json", with_tests(CASES))
    result = orch_test(str(file), "-p", "Number=7")
    assert result.exit_code == 0
    assert lines(result)[-2:] == ["returned data:", "    Size: small"]
    once = orch_test(str(file), "--no-cases")
    assert once.exit_code == 0
    assert "PASS" not in once.stdout and "Size: the answer (42)" in once.stdout
