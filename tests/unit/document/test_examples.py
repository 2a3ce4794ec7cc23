"""Every runbook in examples/ validates against the installed core activities."""

from __future__ import annotations

from pathlib import Path

import pytest

from orch.document import load
from orch.sdk import default_registry
from tests.unit.document.helpers import REGISTRY

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.json"))


def test_the_examples_are_there() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"hello.json", "branching.json", "fanout.json", "parent.json", "child.json"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_against_the_default_registry(path: Path) -> None:
    compiled = load(path.read_bytes(), default_registry())
    assert compiled.runbook.folder == "/Examples"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_against_the_stand_in_types(path: Path) -> None:
    load(path.read_bytes(), REGISTRY)


def test_hello_is_what_job_start_expects() -> None:
    hello = load((EXAMPLES[0].parent / "hello.json").read_bytes(), default_registry())
    assert hello.path == "/Examples/Hello"
    assert [p.name for p in hello.parameters] == ["Name"]
    assert [r.name for r in hello.returns] == ["Greeting"]


def test_fanout_shape() -> None:
    fan = load((EXAMPLES[0].parent / "fanout.json").read_bytes(), default_registry())
    assert fan.activities["join"].is_junction
    assert fan.activities["join"].return_data_from == "shout"
    assert {lk.source for lk in fan.activities["join"].incoming} == {"shout", "number", "nobody"}
    assert fan.activities["done"].flatten is not None


def test_parent_invokes_child_by_path() -> None:
    parent = load((EXAMPLES[0].parent / "parent.json").read_bytes(), default_registry())
    child = load((EXAMPLES[0].parent / "child.json").read_bytes(), default_registry())
    invoke = parent.activities["child"]
    assert invoke.type.name == "invoke_runbook"
    assert invoke.properties.get("runbook").literal_value() == child.path  # type: ignore[union-attr]
    assert set(invoke.properties.get("parameters").keys()) == {  # type: ignore[union-attr]
        p.name for p in child.parameters
    }
