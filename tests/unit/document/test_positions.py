"""JSON paths to lines and columns, syntax errors where they are, and located validation."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orch.document.located import check_text
from orch.document.positions import (
    JsonSyntaxError,
    Position,
    locate,
    parent_path,
    position_at,
    positions,
)

DOC = """{
  "name": "Hello",
  "activities": [
    {"id": "start", "type": "initialize_data"},
    {
      "id": "say",
      "properties": {"args": ["a", "b"], "odd key": 1, "env": {"MY-VAR": "x"}}
    }
  ],
  "links": []
}"""


def test_members_are_at_their_keys_and_items_at_their_values() -> None:
    found = positions(DOC)
    assert found["$"] == Position(1, 1)
    assert found["$.name"] == Position(2, 3)
    assert found["$.activities"] == Position(3, 3)
    assert found["$.activities[0]"] == Position(4, 5)
    assert found["$.activities[0].type"] == Position(4, 21)
    assert found["$.activities[1]"] == Position(5, 5)
    assert found["$.activities[1].id"] == Position(6, 7)
    assert found["$.activities[1].properties.args[1]"] == Position(7, 36)
    assert found['$.activities[1].properties["odd key"]'] == Position(7, 42)
    assert found['$.activities[1].properties.env["MY-VAR"]'] == Position(7, 64)
    assert found["$.links"] == Position(10, 3)


def test_keys_with_escapes_are_decoded() -> None:
    found = positions('{"a\\"b": {"\\u0041": 1}}')
    assert found['$["a\\"b"].A'] == Position(1, 11)


def test_locate_falls_back_to_the_nearest_enclosing_value() -> None:
    found = positions(DOC)
    assert locate(found, "$.activities[0].properties") == Position(4, 5)
    assert locate(found, "$.activities[7].id") == Position(3, 3)
    assert locate(found, '$.activities[1].properties["odd key"]') == Position(7, 42)
    assert locate(found, "$.nowhere") == Position(1, 1)
    assert locate({}, "$.x") == Position(1, 1)


@pytest.mark.parametrize(
    ("path", "parent"),
    [("$", None), ("$.a", "$"), ("$.a[3]", "$.a"), ('$.a["x.y[1]"]', "$.a"),
     ('$["q\\"x"].b', '$["q\\"x"]')],
)
def test_parent_path(path: str, parent: str | None) -> None:
    assert parent_path(path) == parent


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{\n  "a": 1,\n}', 3, 1, "trailing commas"),
        ('{\n  "a" 1\n}', 2, 7, "expected ':'"),
        ('{\n  "a": 1\n  "b": 2\n}', 3, 3, "expected ',' or '}'"),
        ('[1, 2', 1, 6, "ends inside a list"),
        ('{"a": [1,]}', 1, 10, "trailing commas"),
        ('{"a": tru}', 1, 7, "expected a value"),
        ('{"a": "x\ny"}', 1, 9, "line break inside a string"),
        ('{"a": "\\x"}', 1, 8, "invalid escape"),
        ('{"a": "abc', 1, 7, "not closed"),
        ('{"a": 01}', 1, 8, "number is malformed"),
        ('{} x', 1, 4, "after the end"),
        ("", 1, 1, "ends where a value"),
        ("{'a': 1}", 1, 2, "key in double quotes"),
    ],
)
def test_syntax_errors_point_at_the_fault(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        positions(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words in caught.value.reason


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(JsonSyntaxError, match="nested too deeply"):
        positions("[" * 5000 + "]" * 5000)


def test_position_at_counts_lines_and_columns() -> None:
    text = "ab\ncd\r\n\nef"
    assert position_at(text, 0) == Position(1, 1)
    assert position_at(text, 4) == Position(2, 2)
    assert position_at(text, 8) == Position(4, 1)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(value=_json, indent=st.sampled_from([None, 1, 2]))
def test_agrees_with_the_json_module(value: object, indent: int | None) -> None:
    """Every value that json.dumps writes is found, at a character that starts it."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    found = positions(text)
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    for path, (line, column) in found.items():
        offset = starts[line - 1] + column - 1
        assert text[offset] in '{["-0123456789tfn', path


HELLO = """{
  "format": "orch.runbook/1",
  "name": "Hello",
  "folder": "/Examples",
  "activities": [
    {"id": "start", "type": "initialize_data",
     "properties": {"parameters": [{"name": "Name", "type": "string"}]}},
    {"id": "say", "type": "run_program",
     "properties": {"program": "echo", "args": ["Hello, {start.Name}!"]}}
  ],
  "links": [{"from": "start", "to": "say"}]
}"""


def test_check_text_accepts_a_valid_document() -> None:
    assert check_text(HELLO) == []


def test_check_text_places_checker_faults_on_their_lines() -> None:
    text = HELLO.replace('"run_program"', '"no_such_type"').replace("{start.Name}", "{nobody.X}")
    faults = check_text(text)
    assert {f.position.line for f in faults} == {8, 9}
    assert [f.position.line for f in faults] == sorted(f.position.line for f in faults)
    by_code = {f.fault.code: f for f in faults}
    assert by_code["unknown-type"].position == Position(8, 19)
    assert by_code["unknown-type"].fault.path == "$.activities[1].type"


def test_check_text_places_decoding_faults() -> None:
    faults = check_text(HELLO.replace('"folder"', '"foldr"'))
    assert [(f.fault.code, f.fault.path, f.position) for f in faults] == [
        ("unknown-key", "$.foldr", Position(4, 3))]
    missing = check_text(HELLO.replace('"id": "say", ', ""))
    assert missing[0].fault.code == "missing-key"
    assert missing[0].position == Position(8, 5)  # the object that lacks it


def test_check_text_syntax_errors_and_empty_text() -> None:
    (fault,) = check_text(HELLO.replace('"Hello",', '"Hello"'))
    assert fault.fault.code == "bad-json" and fault.position == Position(4, 3)
    assert "expected ',' or '}'" in fault.fault.message
    (empty,) = check_text("  \n")
    assert empty.fault.message == "the document is empty" and empty.position == Position(1, 1)
