"""A job's parameters against the start initialize_data's declarations."""

from __future__ import annotations

from typing import Any

import pytest

from orch.document import DocumentInvalid, load, parse_parameters
from tests.unit.document.helpers import REGISTRY, base


def compiled(*params: dict[str, Any]) -> Any:
    doc = base()
    doc["activities"][0]["properties"]["parameters"] = list(params)
    doc["activities"][1]["properties"]["args"] = ["hi"]
    return load(doc, REGISTRY)


def test_values_come_out_as_canonical_text() -> None:
    c = compiled(
        {"name": "S", "type": "string"},
        {"name": "I", "type": "integer"},
        {"name": "B", "type": "boolean"},
        {"name": "T", "type": "datetime"},
    )
    out = parse_parameters(c, {"S": 5, "I": " 007 ", "B": "TRUE", "T": "2024-05-01T14:00:00+02:00"})
    assert out == {"S": "5", "I": "7", "B": "true", "T": "2024-05-01T12:00:00Z"}
    out = parse_parameters(c, {"S": True, "I": 12, "B": False, "T": "2024-05-01 12:00"})
    assert out == {"S": "true", "I": "12", "B": "false", "T": "2024-05-01T12:00:00Z"}


def test_defaults_and_optional_parameters() -> None:
    c = compiled(
        {"name": "WithDefault", "type": "integer", "default": 3},
        {"name": "Optional", "required": False},
        {"name": "BoolDefault", "type": "boolean", "default": True},
    )
    assert parse_parameters(c, {}) == {"WithDefault": "3", "Optional": "", "BoolDefault": "true"}
    assert parse_parameters(c, {"WithDefault": "4"})["WithDefault"] == "4"


def test_missing_required_and_unknown_are_all_reported() -> None:
    c = compiled({"name": "Need"}, {"name": "Count", "type": "integer", "required": True,
                                    "default": 1})  # fmt: skip
    with pytest.raises(DocumentInvalid) as info:
        parse_parameters(c, {"Extra": 1, "my key": 2})
    assert [(f.path, f.code, f.message) for f in info.value.faults] == [
        ("$.parameters.Extra", "unknown-parameter",
         "the runbook has no parameter 'Extra' (its parameters: Need, Count)"),
        ('$.parameters["my key"]', "unknown-parameter",
         "the runbook has no parameter 'my key' (its parameters: Need, Count)"),
        ("$.parameters.Need", "missing-parameter", "the parameter 'Need' is required"),
        ("$.parameters.Count", "missing-parameter", "the parameter 'Count' is required"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("integer", "12a", "expected an integer, got '12a'"),
        ("integer", 1.5, "expected an integer, got 1.5"),
        ("integer", True, "expected an integer, got a boolean"),
        ("boolean", "yes", "expected true or false, got 'yes'"),
        ("boolean", 1, "expected true or false, got 1"),
        ("datetime", "soon", "'soon' is not a date and time (expected RFC 3339"),
        ("datetime", 1700000000, "expected a date and time as text, got a number"),
        ("string", None, "expected a string value, got null"),
        ("string", [1], "expected a string value, got a list"),
    ],
)
def test_values_that_do_not_fit(type_: str, value: Any, message: str) -> None:
    c = compiled({"name": "P", "type": type_})
    with pytest.raises(DocumentInvalid) as info:
        parse_parameters(c, {"P": value})
    (f,) = info.value.faults
    assert (f.path, f.code) == ("$.parameters.P", "bad-parameter")
    assert f.message.startswith(message)


def test_runbook_without_parameters() -> None:
    doc = base()
    doc["activities"] = doc["activities"][1:]
    doc["activities"][0]["properties"]["args"] = ["hi"]
    doc["links"] = doc["links"][1:]
    c = load(doc, REGISTRY)
    assert parse_parameters(c, {}) == {}
    with pytest.raises(DocumentInvalid) as info:
        parse_parameters(c, {"X": "1"})
    assert info.value.faults[0].message == "the runbook has no parameter 'X' (its parameters: none)"
