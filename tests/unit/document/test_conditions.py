"""Conditions (every operator, numbers vs text) and links (include/exclude, explain)."""

from __future__ import annotations

from typing import Any

import pytest

from orch.document.conditions import ConditionError, compile_condition, compile_link
from orch.document.model import Condition, Link


def holds(op: str, value: Any, data: str | None) -> bool:
    c = compile_condition(Condition(data="F", op=op, value=value), path="$.c")  # type: ignore[arg-type]
    return c.test({} if data is None else {"F": data})


@pytest.mark.parametrize(
    ("op", "value", "data", "expected"),
    [
        ("equals", "abc", "abc", True),
        ("equals", "abc", "ABC", False),
        ("equals", "abc", "abc ", False),
        ("equals", 0, "0", True),
        ("equals", 0, "0.0", False),
        ("equals", True, "true", True),
        ("equals", "", None, True),
        ("not_equals", "abc", "abd", True),
        ("not_equals", "abc", "abc", False),
        ("not_equals", "x", None, True),
        ("contains", "ell", "hello", True),
        ("contains", "ELL", "hello", False),
        ("contains", "", "hello", True),
        ("not_contains", "xyz", "hello", True),
        ("not_contains", "ell", "hello", False),
        ("starts_with", "he", "hello", True),
        ("starts_with", "He", "hello", False),
        ("ends_with", "llo", "hello", True),
        ("ends_with", "ll", "hello", False),
        ("matches", r"^\d+$", "123", True),
        ("matches", r"\d", "a1b", True),
        ("matches", r"^\d+$", "12a", False),
        ("matches", "HELLO", "hello", False),
        ("not_matches", r"\d", "abc", True),
        ("not_matches", r"\d", "a1", False),
        ("lt", 10, "9", True),
        ("lt", 10, "10", False),
        ("lt", "10", "9.5", True),
        ("lt", 10, "100", False),
        ("lt", "b", "a", True),
        ("lt", "10", "9x", False),
        ("le", 10, "10", True),
        ("le", 10, "10.0", True),
        ("le", 10, "10.01", False),
        ("gt", 2, "10", True),
        ("gt", "2", "10", True),
        ("gt", "b", "abc", False),
        ("gt", -1, "-0.5", True),
        ("ge", 5, "5", True),
        ("ge", 5, "4.999", False),
        ("ge", "abc", "abc", True),
        ("between", [1, 10], "1", True),
        ("between", [1, 10], "10", True),
        ("between", [1, 10], "5.5", True),
        ("between", [1, 10], "0.9", False),
        ("between", [1, 10], "11", False),
        ("between", [1, 10], "2", True),
        ("between", ["a", "c"], "b", True),
        ("between", ["a", "c"], "d", False),
        ("between", ["1", "10"], " 7 ", True),
        ("lt", 1, None, True),
    ],
)
def test_operators(op: str, value: Any, data: str | None, expected: bool) -> None:
    assert holds(op, value, data) is expected


def test_numeric_only_when_both_sides_are_numbers() -> None:
    # "9" < "10" as numbers, but "9" > "10a" as text
    assert holds("lt", "10", "9") is True
    assert holds("lt", "10a", "9") is False
    assert holds("gt", "1e3", "2") is True  # 1e3 is text, compared as text: "2" > "1e3"


def test_regex_is_compiled_once() -> None:
    c = compile_condition(Condition(data="F", op="matches", value="a+"), path="$")
    assert c.test({"F": "baa"}) and not c.test({"F": "b"})


def test_str() -> None:
    assert (
        str(compile_condition(Condition(data="X", op="equals", value=1), path="$"))
        == "X equals '1'"
    )
    c = compile_condition(Condition(data="X", op="between", value=[1, 2]), path="$")
    assert str(c) == "X between '1' and '2'"
    assert c.value == ("1", "2")


@pytest.mark.parametrize(
    ("op", "value", "path", "code", "message"),
    [
        ("between", "5", "$.c.value", "bad-operand", "'between' takes two values: [low, high]"),
        ("between", [1], "$.c.value", "bad-operand", "'between' takes two values"),
        ("between", [1, 2, 3], "$.c.value", "bad-operand", "'between' takes two values"),
        ("equals", [1, 2], "$.c.value", "bad-operand", "'equals' takes one value, not a list"),
        ("lt", ["1"], "$.c.value", "bad-operand", "'lt' takes one value"),
        ("matches", "(", "$.c.value", "bad-regex", "bad regular expression '('"),
        ("not_matches", "[a-", "$.c.value", "bad-regex", "bad regular expression '[a-'"),
        ("eq", "1", "$.c.op", "bad-operator", "unknown operator 'eq' (expected one of equals,"),
    ],
)
def test_condition_errors(op: str, value: Any, path: str, code: str, message: str) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(Condition(data="F", op=op, value=value), path="$.c")  # type: ignore[arg-type]
    assert info.value.path == path
    assert info.value.code == code
    assert message in info.value.message


# ---- links ----------------------------------------------------------------------------------


def link(**kw: Any) -> Any:
    return compile_link(Link(from_="a", to="b", **kw), 3)


def cond(data: str, op: str, value: Any) -> Condition:
    return Condition(data=data, op=op, value=value)  # type: ignore[arg-type]


def test_default_include_is_status_success() -> None:
    lk = link()
    assert lk.include is not None and [str(c) for c in lk.include] == ["Status equals 'success'"]
    assert lk.followed({"Status": "success"})
    assert not lk.followed({"Status": "warning"})
    assert not lk.followed({"Status": "failed"})
    assert (lk.source, lk.target, lk.index, lk.path) == ("a", "b", 3, "$.links[3]")


def test_explicit_empty_include_follows_any_status() -> None:
    lk = link(include=[])
    assert lk.include is None
    assert lk.followed({"Status": "failed"}) and lk.followed({})


def test_explicit_include_replaces_the_default() -> None:
    lk = link(include=[cond("ExitCode", "equals", 3)])
    assert lk.followed({"Status": "failed", "ExitCode": "3"})
    assert not lk.followed({"Status": "success", "ExitCode": "0"})


def test_includes_are_ored_and_excludes_veto() -> None:
    lk = link(
        include=[cond("X", "equals", "1"), cond("X", "equals", "2")],
        exclude=[cond("Y", "equals", "no"), cond("Z", "equals", "no")],
    )
    assert lk.followed({"X": "1"})
    assert lk.followed({"X": "2", "Y": "yes"})
    assert not lk.followed({"X": "3"})
    assert not lk.followed({"X": "1", "Y": "no"})
    assert not lk.followed({"X": "2", "Z": "no"})


def test_exclude_with_default_include() -> None:
    lk = link(exclude=[cond("Output", "contains", "skip")])
    assert lk.followed({"Status": "success", "Output": "go"})
    assert not lk.followed({"Status": "success", "Output": "please skip"})


def test_delay_and_name() -> None:
    lk = link(name="slow", delay_seconds=2.5)
    assert lk.name == "slow" and lk.delay_seconds == 2.5


def test_explain() -> None:
    lk = link(include=[cond("X", "equals", "1")], exclude=[cond("Y", "equals", "no")])
    assert lk.explain({"X": "1"}) == "link a → b followed: X equals '1' (X is '1')"
    assert lk.explain({"X": "1", "Y": "no"}) == (
        "link a → b not followed: excluded by Y equals 'no' (Y is 'no')"
    )
    assert lk.explain({"X": "2"}) == (
        "link a → b not followed: no include condition holds: X equals '1' (X is '2')"
    )
    assert lk.explain({}) == (
        "link a → b not followed: no include condition holds: "
        "X equals '1' (X is not published, read as '')"
    )
    assert link(include=[]).explain({}) == "link a → b followed: it has no include condition"


def test_explain_agrees_with_followed() -> None:
    lk = link(include=[cond("X", "gt", 5)], exclude=[cond("X", "equals", "7")])
    for x in ["1", "6", "7", "8", "x", ""]:
        item = {"X": x}
        assert lk.explain(item).startswith("link a → b followed:") == lk.followed(item)


def test_compile_link_collects_every_bad_condition() -> None:
    errors: list[ConditionError] = []
    lk = compile_link(
        Link(
            from_="a",
            to="b",
            include=[cond("X", "matches", "("), cond("X", "equals", "ok")],
            exclude=[cond("Y", "between", 1)],
        ),
        0,
        errors=errors,
    )
    assert [(e.path, e.code) for e in errors] == [
        ("$.links[0].include[0].value", "bad-regex"),
        ("$.links[0].exclude[0].value", "bad-operand"),
    ]
    assert lk.include is not None and len(lk.include) == 1


def test_compile_link_raises_without_errors_list() -> None:
    with pytest.raises(ConditionError):
        compile_link(Link(from_="a", to="b", include=[cond("X", "matches", "(")]), 0)
