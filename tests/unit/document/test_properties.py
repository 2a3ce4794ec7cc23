"""Property trees: every string compiled once, rendered back to plain JSON."""

from __future__ import annotations

import pytest

from orch.document.expr import MappingScope
from orch.document.properties import child_path, compile_properties, compile_properties_all
from orch.errors import ExpressionError

SCOPE = MappingScope(values={"a": {"X": "1", "Y": "two"}}, variables={"V": "v"})


def test_render_mirrors_the_json() -> None:
    tree = compile_properties(
        {
            "program": "echo",
            "args": ["{a.X}", "[Upper({a.Y})]", "{{literal}}"],
            "env": {"K": "{variable:V}", "N": 5, "B": True, "Z": None},
            "nested": [[{"deep": "{a.Y}"}]],
        },
        path="$.activities[0].properties",
    )
    assert tree.references == frozenset({("a", "X"), ("a", "Y")})
    assert tree.variables == frozenset({"V"})
    assert not tree.is_literal and tree.literal_value() is None
    assert tree.render(SCOPE) == {
        "program": "echo",
        "args": ["1", "TWO", "{literal}"],
        "env": {"K": "v", "N": 5, "B": True, "Z": None},
        "nested": [[{"deep": "two"}]],
    }
    assert tree["args"].references == frozenset({("a", "X"), ("a", "Y")})
    assert tree["program"].is_literal
    assert tree.get("nope") is None
    assert tree.keys() == ["program", "args", "env", "nested"]


def test_literal_value_resolves_escapes() -> None:
    tree = compile_properties({"body": '{{"a": [[1]]}}', "n": 3, "list": ["x"]}, path="$")
    assert tree.is_literal
    assert tree.literal_value() == {"body": '{"a": [1]}', "n": 3, "list": ["x"]}


def test_literal_null() -> None:
    tree = compile_properties(None, path="$")
    assert tree.is_literal and tree.literal_value() is None


def test_templates_know_their_paths() -> None:
    tree = compile_properties(
        {"args": ["a", "{a.X}"], "env": {"MY-VAR": "{a.Y}"}}, path="$.activities[2].properties"
    )
    assert [t.path for t in tree.templates()] == [
        "$.activities[2].properties.args[0]",
        "$.activities[2].properties.args[1]",
        '$.activities[2].properties.env["MY-VAR"]',
    ]


def test_first_error_raised_with_its_path() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_properties({"args": ["ok", "[Len(bad"]}, path="$.p")
    assert info.value.path == "$.p.args[1]"


def test_all_errors_collected() -> None:
    errors: list[ExpressionError] = []
    tree = compile_properties_all(
        {"a": "[Len(x", "b": ["[Upper()]", "fine {x"]}, path="$.p", errors=errors
    )
    assert [e.path for e in errors] == ["$.p.a", "$.p.b[0]"]
    # the bad strings stay as their literal text, so the tree can still be inspected
    assert tree.literal_value() == {"a": "[Len(x", "b": ["[Upper()]", "fine {x"]}


@pytest.mark.parametrize(
    ("key", "expected"),
    [(0, "$.x[0]"), ("name", "$.x.name"), ("_a1", "$.x._a1"), ("my-var", '$.x["my-var"]'),
     ('q"uote', '$.x["q\\"uote"]'), ("", '$.x[""]'), ("1a", '$.x["1a"]')],
)  # fmt: skip
def test_child_path(key: str | int, expected: str) -> None:
    assert child_path("$.x", key) == expected
