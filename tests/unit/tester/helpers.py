"""Documents and a CLI runner for the tester tests (core activities, real programs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

import orch.cli.tester  # noqa: F401  (registers `orch test`)
from orch.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def write(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(doc, indent=2))
    return path


def copy_example(folder: Path, name: str) -> Path:
    return Path(shutil.copy(EXAMPLES / f"{name}.json", folder / f"{name}.json"))


def orch_test(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["test", *args], input=input, catch_exceptions=False)


def lines(result: Result) -> list[str]:
    return result.stdout.splitlines()


def events(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def failing() -> dict[str, Any]:
    """start → check (a program exiting 3) → done; the failure is not handled."""
    return {
        "format": "orch.runbook/1",
        "name": "Failing",
        "folder": "/Tests",
        "returns": [{"name": "Said"}],
        "activities": [
            {"id": "start", "type": "initialize_data", "properties": {"parameters": []}},
            {"id": "check", "type": "run_program",
             "properties": {"program": "sh", "args": ["-c", "echo nope; exit 3"]}},
            {"id": "done", "type": "return_data",
             "properties": {"data": {"Said": "{check.Output}"}}},
        ],
        "links": [{"from": "start", "to": "check"}, {"from": "check", "to": "done"}],
    }  # fmt: skip
