"""Every data function: results, 1-based positions, number and time formats, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orch.document import functions
from orch.document.expr import MappingScope, parse_template
from orch.errors import ExpressionError

SCOPE = MappingScope(values={"a": {"Text": "  Hello, World  ", "Csv": "x;y;z", "N": "41"}})


def ev(text: str) -> str:
    return parse_template(text).render(SCOPE)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # text
        ("[Upper('MixEd ß')]", "MIXED SS"),
        ("[Lower('MixEd')]", "mixed"),
        ("[Len('')]", "0"),
        ("[Len({a.Text})]", "16"),
        ("[Trim({a.Text})]", "Hello, World"),
        ("[LTrim({a.Text})]", "Hello, World  "),
        ("[RTrim({a.Text})]", "  Hello, World"),
        ("[Trim('\t x \n')]", "x"),
        ("[Left('abcdef', 3)]", "abc"),
        ("[Left('abc', 0)]", ""),
        ("[Left('abc', 10)]", "abc"),
        ("[Right('abcdef', 2)]", "ef"),
        ("[Right('abc', 0)]", ""),
        ("[Right('abc', 10)]", "abc"),
        ("[Mid('abcdef', 1, 2)]", "ab"),
        ("[Mid('abcdef', 3, 2)]", "cd"),
        ("[Mid('abcdef', 5, 10)]", "ef"),
        ("[Mid('abcdef', 7, 1)]", ""),
        ("[Mid('abcdef', 2, 0)]", ""),
        ("[Field({a.Csv}, ';', 1)]", "x"),
        ("[Field({a.Csv}, ';', 3)]", "z"),
        ("[Field('a::b', '::', 2)]", "b"),
        ("[Field('a,,c', ',', 2)]", ""),
        ("[Field('abc', ',', 1)]", "abc"),
        ("[FieldCount({a.Csv}, ';')]", "3"),
        ("[FieldCount('', ';')]", "1"),
        ("[Replace('a-b-c', '-', '+')]", "a+b+c"),
        ("[Replace('aaa', 'a', '')]", ""),
        ("[Replace('abc', 'x', 'y')]", "abc"),
        ("[InStr('hello', 'l')]", "3"),
        ("[InStr('hello', 'l', 4)]", "4"),
        ("[InStr('hello', 'z')]", "0"),
        ("[InStr('hello', 'h', 2)]", "0"),
        ("[InStr('hello', 'o', 99)]", "0"),
        ("[Coalesce('', '', 'c', 'd')]", "c"),
        ("[Coalesce('')]", ""),
        ("[PadLeft('7', 3, '0')]", "007"),
        ("[PadLeft('1234', 3, '0')]", "1234"),
        ("[PadLeft('x', 3)]", "  x"),
        ("[PadRight('x', 3, '.')]", "x.."),
        # numbers
        ("[Sum(1, 2, 3)]", "6"),
        ("[Sum(7)]", "7"),
        ("[Sum({a.N}, 1)]", "42"),
        ("[Sum(0.1, 0.2)]", "0.3"),
        ("[Sum(1.5, 1.5)]", "3.0"),
        ("[Sum(-5, 2)]", "-3"),
        ("[Sum(' 4 ', 1)]", "5"),
        ("[Sum(99999999999999999999999999999999, 1)]", "100000000000000000000000000000000"),
        ("[Diff(10, 3)]", "7"),
        ("[Diff(3, 10)]", "-7"),
        ("[Diff(10, 2.5)]", "7.5"),
        ("[Diff(1.25, 1)]", "0.25"),
        ("[Diff(10, 3.333, 1)]", "6.7"),
        ("[Diff(1, 0.125, 2)]", "0.88"),
        ("[Diff(5, 5, 2)]", "0.00"),
        ("[Mult(2, 3, 4)]", "24"),
        ("[Mult(2, 0.5)]", "1.0"),
        ("[Div(10, 4)]", "2.5"),
        ("[Div(10, 2)]", "5"),
        ("[Div(1, 3, 3)]", "0.333"),
        ("[Div(2, 3, 0)]", "1"),
        ("[Div(-7, 2)]", "-3.5"),
        ("[Round(2.5)]", "3"),
        ("[Round(-2.5)]", "-3"),
        ("[Round(2.345, 2)]", "2.35"),
        ("[Round(7, 1)]", "7.0"),
        # times
        ("[FormatDate('2024-05-01T13:04:05Z', 'yyyy-MM-dd HH:mm:ss')]", "2024-05-01 13:04:05"),
        ("[FormatDate('2024-05-01T13:04:05Z', 'yy M d H m s')]", "24 5 1 13 4 5"),
        ("[FormatDate('2024-05-01T13:04:05Z', 'hh h tt')]", "01 1 PM"),
        ("[FormatDate('2024-05-01T00:04:05Z', 'hh tt')]", "12 AM"),
        ("[FormatDate('2024-05-01T13:04:05Z', 'dddd ddd MMMM MMM')]", "Wednesday Wed May May"),
        ("[FormatDate('2024-05-01T13:04:05.123456Z', 'ss.fff ss.ff ss.f')]", "05.123 05.12 05.1"),
        ("[FormatDate('2024-05-01T13:04:05Z', 'HH:mmK zzz')]", "13:04Z +00:00"),
        ("[FormatDate('2024-05-01T13:04:05Z', 'yyyy ''at'' HH')]", "2024 at 13"),
        ("[FormatDate('2024-05-01T13:04:05Z', 'yyyy \"day\" d')]", "2024 day 1"),
        ("[FormatDate('2024-05-01T13:04:05Z', 'HH\\h')]", "13h"),
        ("[FormatDate('2024-05-01T15:04:05+02:00', 'HH:mm')]", "13:04"),
        ("[FormatDate('2024-05-01 13:04:05', 'HH:mm')]", "13:04"),
        ("[FormatDate('2024-05-01T13:04:05Z', '%Y/%m/%d %H')]", "2024/05/01 13"),
        ("[AddSeconds('2024-05-01T23:59:30Z', 45)]", "2024-05-02T00:00:15Z"),
        ("[AddSeconds('2024-05-01T00:00:00Z', -1)]", "2024-04-30T23:59:59Z"),
        ("[AddSeconds('2024-05-01T00:00:00+02:00', 0)]", "2024-04-30T22:00:00Z"),
        ("[DateDiff('2024-05-01T00:00:00Z', '2024-05-01T01:00:00Z')]", "3600"),
        ("[DateDiff('2024-05-01T01:00:00Z', '2024-05-01T00:00:00Z')]", "-3600"),
        ("[DateDiff('2024-05-01T00:00:00Z', '2024-05-01T00:00:00.5Z')]", "0.500000"),
    ],
)
def test_function_results(expr: str, expected: str) -> None:
    assert ev(expr) == expected


def test_now_is_rfc3339_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = datetime(2024, 5, 1, 13, 4, 5, 999999, tzinfo=UTC)
    monkeypatch.setattr(functions, "utcnow", lambda: fixed)
    assert ev("[Now()]") == "2024-05-01T13:04:05Z"
    assert ev("[Now('yyyy-MM-dd')]") == "2024-05-01"
    assert ev("[FormatDate([Now()], 'HH:mm')]") == "13:04"
    assert ev("[DateDiff('2024-05-01T13:00:00Z', [Now()])]") == "245"


def test_now_reads_the_clock_per_render(monkeypatch: pytest.MonkeyPatch) -> None:
    t = parse_template("[Now()]")
    monkeypatch.setattr(functions, "utcnow", lambda: datetime(2020, 1, 1, tzinfo=UTC))
    assert t.render(SCOPE) == "2020-01-01T00:00:00Z"
    monkeypatch.setattr(functions, "utcnow", lambda: datetime(2021, 1, 1, tzinfo=UTC))
    assert t.render(SCOPE) == "2021-01-01T00:00:00Z"


def test_nesting_many_levels() -> None:
    assert ev("[Upper([Left([Trim({a.Text})], [Diff([Len('abcdef')], 1)])])]") == "HELLO"
    assert ev("[Sum([Len([Field({a.Csv}, ';', 2)])], [InStr({a.Csv}, 'z')])]") == "6"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("[Left('abc', -1)]", "Left argument 2: must be 0 or more, got -1"),
        ("[Left('abc', 'x')]", "Left argument 2: expected a whole number, got 'x'"),
        ("[Left('abc', 1.5)]", "Left argument 2: expected a whole number, got '1.5'"),
        ("[Right('abc', -2)]", "Right argument 2: must be 0 or more, got -2"),
        ("[Mid('abc', 0, 1)]", "Mid argument 2: must be 1 or more, got 0"),
        ("[Mid('abc', 1, -1)]", "Mid argument 3: must be 0 or more, got -1"),
        (
            "[Field('a,b', ',', 3)]",
            "Field argument 3: position 3 is out of range: the text has 2 fields",
        ),
        (
            "[Field('a', ',', 2)]",
            "Field argument 3: position 2 is out of range: the text has 1 field ",
        ),
        ("[Field('a,b', ',', 0)]", "Field argument 3: must be 1 or more, got 0"),
        ("[Field('a,b', '', 1)]", "Field argument 2: the delimiter must not be empty"),
        ("[FieldCount('a', '')]", "FieldCount argument 2: the delimiter must not be empty"),
        ("[Replace('abc', '', 'x')]", "Replace argument 2: the text to replace must not be empty"),
        ("[InStr('abc', 'a', 0)]", "InStr argument 3: must be 1 or more, got 0"),
        ("[PadLeft('x', 3, 'ab')]", "PadLeft argument 3: expected one character, got 'ab'"),
        ("[PadRight('x', 1000001)]", "PadRight argument 2: must be 100000 or less, got 1000001"),
        ("[Sum(1, 'two')]", "Sum argument 2: expected a number, got 'two'"),
        ("[Sum('1e3')]", "Sum argument 1: expected a number, got '1e3'"),
        ("[Sum('NaN')]", "Sum argument 1: expected a number, got 'NaN'"),
        ("[Diff('x', 1)]", "Diff argument 1: expected a number, got 'x'"),
        ("[Diff(1, 2, -1)]", "Diff argument 3: must be 0 or more, got -1"),
        ("[Mult(2, '')]", "Mult argument 2: expected a number, got ''"),
        ("[Div(1, 0)]", "Div argument 2: division by zero"),
        ("[Div(1, 0.0)]", "Div argument 2: division by zero"),
        ("[Round(1, 101)]", "Round argument 2: must be 100 or less, got 101"),
        (
            "[FormatDate('yesterday', 'yyyy')]",
            "FormatDate argument 1: 'yesterday' is not a date and time",
        ),
        (
            "[FormatDate('', 'yyyy')]",
            "FormatDate argument 1: expected a date and time, got empty text",
        ),
        ("[FormatDate('2024-05-01', '')]", "FormatDate argument 2: the format must not be empty"),
        ("[AddSeconds('2024-05-01T00:00:00Z', 'x')]", "AddSeconds argument 2: expected a number"),
        (
            "[AddSeconds('9999-12-31T23:59:59Z', 10)]",
            "AddSeconds argument 2: the resulting time is out of range",
        ),
        ("[DateDiff('2024-05-01', 'soon')]", "DateDiff argument 2: 'soon' is not a date and time"),
    ],
)
def test_function_errors(expr: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        ev(expr)
    assert message in info.value.message
    assert f"(in {expr!r})" in info.value.message


def test_every_function_is_documented_and_callable_by_any_case() -> None:
    expected = {
        "Upper", "Lower", "Len", "Trim", "LTrim", "RTrim", "Left", "Right", "Mid", "Field",
        "FieldCount", "Replace", "InStr", "Coalesce", "PadLeft", "PadRight", "Sum", "Diff",
        "Mult", "Div", "Round", "Now", "FormatDate", "AddSeconds", "DateDiff",
    }  # fmt: skip
    assert set(functions.FUNCTIONS) == expected
    for name, fn in functions.FUNCTIONS.items():
        assert fn.signature.startswith(name + "(")
        assert fn.summary
        assert functions.lookup(name.lower()) is fn
        assert functions.lookup(name.upper()) is fn
    assert functions.lookup("Nope") is None


def test_the_reference_lists_every_function() -> None:
    from pathlib import Path

    readme = (Path(functions.__file__).parent / "README.md").read_text()
    for fn in functions.FUNCTIONS.values():
        assert f"| `{fn.signature}` |" in readme, fn.signature
