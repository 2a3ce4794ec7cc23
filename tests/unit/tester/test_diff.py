"""The semantic diff of two runbook documents, and ``orch runbook diff`` on files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import orch.cli.diff  # noqa: F401  (registers `orch runbook diff`)
from orch.cli.main import cli
from orch.document import decode_document
from orch.document.diff import Change, diff_runbooks, render
from tests.unit.tester.helpers import example, write


def diff(old: dict[str, Any], new: dict[str, Any]):
    return diff_runbooks(decode_document(old), decode_document(new))


def edited() -> tuple[dict[str, Any], dict[str, Any]]:
    """Version 1 and 2 of hello: a property changed, an activity and a link added,
    a link's conditions changed, a return added, the description changed."""
    v1 = example("hello")
    v2 = copy.deepcopy(v1)
    v2["description"] = "Greets politely."
    v2["returns"].append({"name": "Length", "type": "integer"})
    v2["activities"][1]["properties"]["args"] = ["Good day, {start.Name}!"]
    v2["activities"][1]["timeout_seconds"] = 30
    v2["activities"].insert(2, {"id": "log", "type": "run_program",
                                "properties": {"program": "logger", "args": ["{greet.Output}"]}})
    v2["activities"][3]["properties"]["data"]["Length"] = "[Len({greet.Output})]"
    v2["links"][1]["include"] = [{"data": "ExitCode", "op": "equals", "value": 0}]
    v2["links"].append({"from": "greet", "to": "log", "include": []})
    return v1, v2  # fmt: skip


def test_identical_and_reordered_documents_have_no_differences() -> None:
    v1 = example("branching")
    v2 = copy.deepcopy(v1)
    v2["activities"].reverse()
    v2["links"].reverse()
    assert diff(v1, v2).empty


def test_semantically_equal_spellings_are_no_change() -> None:
    v1 = example("branching")
    v2 = copy.deepcopy(v1)
    v2["links"][0]["include"] = [{"data": "Status", "op": "equals", "value": "success"}]
    v2["links"][1]["include"][0]["value"] = "10"  # was the number 10
    assert diff(v1, v2).empty


def test_changes_are_listed_per_activity_link_and_runbook_field() -> None:
    d = diff(*edited())
    assert d.runbook == [
        Change(path="description", kind="changed",
               old=example("hello")["description"], new="Greets politely."),
        Change(path="returns.Length", kind="added",
               new={"name": "Length", "type": "integer", "description": ""}),
    ]  # fmt: skip
    assert [a.id for a in d.activities_added] == ["log"]
    assert d.activities_removed == []
    changed = {a.id: a.changes for a in d.activities_changed}
    assert changed["greet"] == [
        Change(path="properties.args[0]", kind="changed",
               old="Hello, {start.Name}!", new="Good day, {start.Name}!"),
        Change(path="timeout_seconds", kind="added", new=30),
    ]  # fmt: skip
    assert changed["done"] == [
        Change(path="properties.data.Length", kind="added", new="[Len({greet.Output})]")
    ]
    assert [(k.from_, k.to) for k in d.links_added] == [("greet", "log")]
    assert [(k.from_, k.to) for k in d.links_changed] == [("greet", "done")]
    assert d.links_changed[0].changes == [
        Change(path="include[0].data", kind="changed", old="Status", new="ExitCode"),
        Change(path="include[0].value", kind="changed", old="success", new="0"),
    ]


def test_removed_activity_and_renamed_id() -> None:
    v1 = example("hello")
    v2 = copy.deepcopy(v1)
    v2["activities"][1]["id"] = "hello"
    v2["links"] = [{"from": "start", "to": "hello"}, {"from": "hello", "to": "done"}]
    d = diff(v1, v2)
    assert [a.id for a in d.activities_added] == ["hello"]
    assert [a.id for a in d.activities_removed] == ["greet"]
    assert [(k.from_, k.to) for k in d.links_removed] == [("start", "greet"), ("greet", "done")]
    assert [(k.from_, k.to) for k in d.links_added] == [("start", "hello"), ("hello", "done")]


def test_several_links_between_the_same_activities_pair_in_order() -> None:
    v1 = example("hello")
    v1["links"].append({"from": "greet", "to": "done", "name": "second", "delay_seconds": 1})
    v2 = copy.deepcopy(v1)
    v2["links"][2]["delay_seconds"] = 5
    d = diff(v1, v2)
    assert [(k.name, k.changes) for k in d.links_changed] == [
        ("second", [Change(path="delay_seconds", kind="changed", old=1.0, new=5.0)])
    ]


def test_text_rendering() -> None:
    text = render(diff(*edited()), old_label="v1.json", new_label="v2.json")
    assert text.splitlines() == [
        "--- v1.json (/Examples/Hello)",
        "+++ v2.json (/Examples/Hello)",
        "runbook:",
        f"  ~ description: {json.dumps(example('hello')['description'])} → \"Greets politely.\"",
        '  + returns.Length: {"name":"Length","type":"integer","description":""}',
        "activities:",
        "  + log (run_program)",
        "  ~ greet (run_program) “Build the greeting”",
        '      ~ properties.args[0]: "Hello, {start.Name}!" → "Good day, {start.Name}!"',
        "      + timeout_seconds: 30",
        "  ~ done (return_data) “Return the greeting”",
        '      + properties.data.Length: "[Len({greet.Output})]"',
        "links:",
        "  + greet → log",
        "  ~ greet → done",
        '      ~ include[0].data: "Status" → "ExitCode"',
        '      ~ include[0].value: "success" → "0"',
    ]


def test_cli_diff_of_two_files(tmp_path: Path) -> None:
    v1, v2 = edited()
    a, b = write(tmp_path, "v1.json", v1), write(tmp_path, "v2.json", v2)
    result = CliRunner().invoke(cli, ["runbook", "diff", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"--- {a} (/Examples/Hello)"
    assert "  + log (run_program)" in result.stdout.splitlines()

    as_json = CliRunner().invoke(cli, ["runbook", "diff", "--json", str(a), str(b)])
    assert as_json.exit_code == 0
    body = json.loads(as_json.stdout)
    assert body["activities_added"] == [{"id": "log", "type": "run_program", "name": None}]
    assert body["links_added"] == [{"from": "greet", "to": "log", "name": None}]

    same = CliRunner().invoke(cli, ["runbook", "diff", str(a), str(a)])
    assert same.stdout.splitlines()[-1] == "no differences"


def test_cli_diff_of_a_missing_or_broken_file(tmp_path: Path) -> None:
    a = write(tmp_path, "v1.json", example("hello"))
    missing = CliRunner().invoke(cli, ["runbook", "diff", str(a), str(tmp_path / "nope.json")])
    assert missing.exit_code == 1
    assert missing.stderr.startswith("orch: error: ") and "nope.json" in missing.stderr
    (tmp_path / "bad.json").write_text("{")
    bad = CliRunner().invoke(cli, ["runbook", "diff", str(a), str(tmp_path / "bad.json")])
    assert bad.exit_code == 1
    assert "bad.json: $: not valid JSON" in bad.stderr
