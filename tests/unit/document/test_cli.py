"""``orch runbook validate``: faults with file and path, exit codes, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import orch.cli.runbook  # noqa: F401  (registers the runbook verbs)
from orch.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def broken_doc() -> dict:
    doc = json.loads((EXAMPLES / "hello.json").read_text())
    doc["folder"] = "Examples"
    doc["activities"][1]["properties"]["args"] = ["{nobody.Name}"]
    return doc


def test_valid_files_exit_0(runner: CliRunner) -> None:
    files = [str(EXAMPLES / "hello.json"), str(EXAMPLES / "branching.json")]
    result = runner.invoke(cli, ["runbook", "validate", *files])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{f}: valid" for f in files]


def test_faults_are_printed_with_file_and_path(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", json.dumps(broken_doc()))
    good = str(EXAMPLES / "hello.json")
    result = runner.invoke(cli, ["runbook", "validate", bad, good])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}: $.folder: the folder must be an absolute path like /Ops/Services "
        "(did you mean '/Examples'?) [bad-folder]",
        f"{bad}: $.activities[1].properties.args[0]: {{nobody.Name}} at position 1: "
        "no activity 'nobody' "
        "(for the text itself write {{nobody.Name}) [unknown-activity]",
        f"{good}: valid",
    ]


def test_json_output(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", json.dumps(broken_doc()))
    result = runner.invoke(
        cli, ["runbook", "validate", "--json", bad, str(EXAMPLES / "hello.json")]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "file": bad,
            "path": "$.folder",
            "message": "the folder must be an absolute path like /Ops/Services "
            "(did you mean '/Examples'?)",
            "code": "bad-folder",
        },
        {
            "file": bad,
            "path": "$.activities[1].properties.args[0]",
            "message": "{nobody.Name} at position 1: no activity 'nobody' "
            "(for the text itself write {{nobody.Name})",
            "code": "unknown-activity",
        },
    ]


def test_json_output_when_valid(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["runbook", "validate", "--json", str(EXAMPLES / "hello.json")])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_unreadable_file_is_one_line_without_traceback(runner: CliRunner, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    result = runner.invoke(cli, ["runbook", "validate", missing])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == f"{missing}: error: cannot read the file: No such file or directory\n"
    assert "Traceback" not in result.output


def test_directory_is_unreadable(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["runbook", "validate", "--json", str(tmp_path)])
    assert result.exit_code == 1
    (fault,) = json.loads(result.stdout)
    assert fault["code"] == "unreadable" and fault["path"] == "$"
    assert fault["message"].startswith("cannot read the file: ")


def test_bad_json_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", '{"format": "orch.runbook/1",')
    result = runner.invoke(cli, ["runbook", "validate", bad])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{bad}: error: not valid JSON: ")
    assert result.stdout == ""


def test_bad_json_in_json_mode(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", "{oops")
    result = runner.invoke(cli, ["runbook", "validate", "--json", bad])
    assert result.exit_code == 1
    (fault,) = json.loads(result.stdout)
    assert (fault["file"], fault["path"], fault["code"]) == (bad, "$", "bad-json")


def test_wrong_shape_is_a_fault_with_a_path(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", "[]")
    result = runner.invoke(cli, ["runbook", "validate", bad])
    assert result.exit_code == 1
    assert result.stdout == f"{bad}: $: expected an object, got a list [wrong-type]\n"


def test_needs_a_file(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["runbook", "validate"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output
