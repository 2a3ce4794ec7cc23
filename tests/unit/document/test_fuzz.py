"""Property tests: the validator and the expression parser never crash.

Random mutations of valid documents are either still valid (and compile) or
rejected with faults that each carry a JSON path, a reason and a code.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orch.document import DocumentInvalid, MappingScope, load, parse_template
from orch.errors import ExpressionError
from tests.unit.document.helpers import REGISTRY, base

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEEDS: list[dict[str, Any]] = [base()] + [
    json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))
]

WORDS = [
    "start", "greet", "done", "join", "list", "shout", "runbook", "variable", "Name", "Output",
    "Status", "Line", "ExitCode", "equals", "between", "matches", "lt", "junction", "wait",
    "initialize_data", "return_data", "run_program", "invoke_runbook", "watch_file", "ext:login",
    "string", "integer", "boolean", "datetime", "{start.Name}", "{greet.Output}", "{runbook.JobId}",
    "{variable:X}", "[Upper('x')]", "[Mid({start.Name}, 0, 1)]", "{{", "]]", "{", "[", "(", "/",
    "/Examples", "", "orch.runbook/1", "return_data_from", "parameters", "from", "to", "include",
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(WORDS),
    st.text(alphabet=st.sampled_from(list("aZ_9 .:{}[]()',-/$")), max_size=12),
)
KEYS: list[str] = sorted(
    {
        "id", "type", "name", "properties", "flatten", "loop", "timeout_seconds", "until",
        "max_attempts", "delay_seconds", "separator", "from", "to", "include", "exclude", "data",
        "op", "value", "default", "required", "returns", "folder", "max_concurrent_jobs", "program",
        "args", "env", "split_output", "return_data_from", "parameters", "seconds", "runbook",
        "bogus",
    }
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=5),
    st.floats(min_value=-10, max_value=10, allow_nan=False),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), TEXT), children, max_size=3),
    ),
    max_leaves=6,
)
CODE = re.compile(r"[a-z]+(?:-[a-z]+)*")


def locations(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair under ``value``."""
    out: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in list(items):
        out.append((value, key))
        if isinstance(child, dict | list):
            out.extend(locations(child))
    return out


def containers(value: Any) -> list[Any]:
    found = [value]
    for parent, key in locations(value):
        if isinstance(parent[key], dict | list):
            found.append(parent[key])
    return found


def mutate(doc: dict[str, Any], data: st.DataObject) -> None:
    op = data.draw(st.sampled_from(["replace", "retext", "delete", "insert", "duplicate", "swap"]))
    if op == "insert":
        target = data.draw(st.sampled_from(containers(doc)))
        if isinstance(target, dict):
            target[data.draw(st.one_of(st.sampled_from(KEYS), TEXT))] = data.draw(JSON)
        else:
            target.insert(data.draw(st.integers(0, len(target))), data.draw(JSON))
        return
    spots = locations(doc)
    if op == "retext":  # keeps the document's shape, changes its meaning
        spots = [(p, k) for p, k in spots if isinstance(p[k], str)]
    if not spots:
        return
    parent, key = data.draw(st.sampled_from(spots))
    if op == "retext":
        parent[key] = data.draw(TEXT)
    elif op == "replace":
        parent[key] = data.draw(JSON)
    elif op == "delete":
        del parent[key]
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif op == "swap":
        other_parent, other_key = data.draw(st.sampled_from(spots))
        parent[key] = copy.deepcopy(other_parent[other_key])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents_are_valid_or_faulted_with_paths(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(SEEDS)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        mutate(doc, data)
    as_bytes = data.draw(st.booleans())
    try:
        compiled = load(msgspec.json.encode(doc) if as_bytes else doc, REGISTRY)
    except DocumentInvalid as e:
        assert e.faults
        for f in e.faults:
            assert f.path.startswith("$"), f
            assert f.message.strip(), f
            assert CODE.fullmatch(f.code), f
    else:
        assert compiled.start in compiled.activities
        assert sorted(compiled.order) == sorted(compiled.activities)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab.:_ 1{}[]()',-")), max_size=30))
def test_any_text_parses_or_fails_with_a_position(text: str) -> None:
    try:
        template = parse_template(text, path="$.x")
    except ExpressionError as e:
        assert e.path == "$.x"
        assert " at position " in e.message
        return
    scope = MappingScope(values={"a": {"b": "1"}})
    try:
        rendered = template.render(scope)
    except ExpressionError as e:
        assert e.path == "$.x"
    else:
        assert isinstance(rendered, str)
        if template.literal is not None:
            assert rendered == template.literal


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20))
def test_escaped_text_round_trips(text: str) -> None:
    escaped = text.replace("{", "{{").replace("}", "}}").replace("[", "[[").replace("]", "]]")
    assert parse_template(escaped).literal == text
