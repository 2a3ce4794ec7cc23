"""query_json, map_published_data, format_date_time and generate_random_text in isolation."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest

from activities._jsonpath import JsonPathError, parse, select
from activities.dates import format_date_time
from activities.jsonquery import query_json
from activities.mapping import map_published_data
from activities.randomtext import generate_random_text
from orch.sdk.testing import run_activity

DOC = (
    '{"a": {"b": [1, 2.5, {"c": null}]}, "items": [{"name": "x", "id": 1},'
    ' {"name": "y", "id": 2, "tags": ["t1"]}], "k y": true, "s": "text"}'
)


# -- query_json -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("$.a.b[0]", ["1"]),
        ("$.a.b[1]", ["2.5"]),
        ("$.a.b[-1]", ['{"c":null}']),
        ("$.a.b[-1].c", [""]),
        ("$.items[*].name", ["x", "y"]),
        ("$.items[1:].id", ["2"]),
        ("$..id", ["1", "2"]),
        ("$..tags[0]", ["t1"]),
        ("$['k y']", ["true"]),
        ('$["s"]', ["text"]),
        ("s", ["text"]),
        ("$.a.*", ['[1,2.5,{"c":null}]']),
        ("$.items.1.name", ["y"]),
        ("$.items.-1.id", ["2"]),
        ("$.items.*.id", ["1", "2"]),
        ("$.items[5]", []),
        ("$.nothing.here", []),
        ("$", [None]),
    ],
)
async def test_query_json_paths(path: str, values: list[str | None]) -> None:
    r = await run_activity(query_json, {"json": DOC, "path": path})
    assert r.status == "success", r.error
    got = [i["Value"] for i in r.items]
    if values == [None]:
        assert len(got) == 1 and got[0].startswith('{"a":')
    else:
        assert got == values


@pytest.mark.parametrize("path", ["$.a.b[x]", "$..", "$[", "$.a[1:2:0]", "$['a'", "", "$ a"])
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(JsonPathError):
        parse(path)


def test_select_is_data_only() -> None:
    assert select({"a": [{"b": 1}, {"b": 2}]}, parse("$.a[*].b")) == [1, 2]


async def test_query_json_failures() -> None:
    r = await run_activity(query_json, {"json": "{bad", "path": "$"})
    assert r.status == "failed" and (r.error or "").startswith("property json: not valid JSON")
    r = await run_activity(query_json, {"json": DOC, "path": "$.a.b[x]"})
    assert r.status == "failed" and (r.error or "").startswith("property path: [x]")
    r = await run_activity(query_json, {"json": DOC, "path": "$.zz", "fail_if_none": True})
    assert (r.status, r.error) == ("failed", "property path: $.zz selects nothing")


# -- map_published_data ------------------------------------------------------------


async def test_map_rules_first_match_wins() -> None:
    rules = [
        {"op": "matches", "value": "^db", "result": "database"},
        {"op": "starts_with", "value": "web", "result": "frontend"},
        {"op": "contains", "value": "e", "result": "other"},
    ]
    r = await run_activity(map_published_data, {"value": "web01", "rules": rules})
    assert r.items == [{"Value": "frontend", "Matched": "true", "Rule": "2"}]
    r = await run_activity(map_published_data, {"value": "db7", "rules": rules})
    assert r.items[0]["Value"] == "database"


async def test_map_table_form_default_and_numbers() -> None:
    table = {"1": "one", "2": "two"}
    r = await run_activity(map_published_data, {"value": "2", "rules": table})
    assert r.items == [{"Value": "two", "Matched": "true", "Rule": "2"}]
    r = await run_activity(map_published_data, {"value": "3", "rules": table, "default": "many"})
    assert r.items == [{"Value": "many", "Matched": "false", "Rule": "0"}]
    rules = [{"op": "between", "value": ["10", "99"], "result": "two digits"}]
    r = await run_activity(map_published_data, {"value": "42", "rules": rules})
    assert r.items[0]["Value"] == "two digits"


async def test_map_failures_name_the_property() -> None:
    r = await run_activity(map_published_data, {"value": "c", "rules": {"a": "1"}})
    assert (r.status, r.error) == (
        "failed",
        "property rules: no rule matches 'c' and there is no default",
    )
    r = await run_activity(
        map_published_data,
        {"value": "c", "rules": [{"op": "matches", "value": "(", "result": "x"}]},
    )
    assert r.status == "failed" and (r.error or "").startswith("property rules[0]: bad regular")
    r = await run_activity(
        map_published_data, {"value": "c", "rules": [{"op": "nope", "value": "c", "result": "x"}]}
    )
    assert r.status == "failed" and (r.error or "").startswith("property rules[0].op:")


# -- format_date_time ----------------------------------------------------------------


async def _fmt(props: dict[str, object]) -> dict[str, str]:
    r = await run_activity(format_date_time, props)
    assert r.status == "success", r.error
    return r.items[0]


async def test_iso_in_rfc3339_out_with_offsets() -> None:
    out = await _fmt({"value": "2024-01-31T10:00:00Z", "add_months": 1, "add_hours": -2})
    assert out == {"Value": "2024-02-29T08:00:00Z", "Time": "2024-02-29T08:00:00Z"}
    out = await _fmt({"value": "2024-02-29", "add_years": 1})
    assert out["Value"] == "2025-02-28T00:00:00Z"


async def test_dotnet_patterns_and_time_zones() -> None:
    out = await _fmt(
        {
            "value": "31/01/2024 10:05",
            "input_format": "dd/MM/yyyy HH:mm",
            "output_format": "dddd d MMMM yyyy, hh:mm tt zzz",
            "output_timezone": "Europe/Paris",
        }
    )
    assert out == {
        "Value": "Wednesday 31 January 2024, 11:05 AM +01:00",
        "Time": "2024-01-31T10:05:00Z",
    }
    out = await _fmt(
        {
            "value": "01 May 2024 3:04 PM",
            "input_format": "dd MMM yyyy h:mm tt",
            "input_timezone": "America/New_York",
            "output_format": "yyyy-MM-dd'T'HH:mm:ssK",
        }
    )
    assert out["Value"] == "2024-05-01T19:04:00Z"


async def test_days_keep_the_clock_across_dst() -> None:
    out = await _fmt(
        {
            "value": "2024-03-30T12:00:00",
            "input_timezone": "Europe/Paris",
            "output_timezone": "Europe/Paris",
            "add_days": 1,
        }
    )
    assert out == {"Value": "2024-03-31T12:00:00+02:00", "Time": "2024-03-31T10:00:00Z"}


async def test_strftime_and_unix() -> None:
    out = await _fmt({"value": "2024-05-01", "output_format": "%Y/%m/%d %A", "add_seconds": -1})
    assert out["Value"] == "2024/04/30 Tuesday"
    out = await _fmt({"value": "1700000000", "output_format": "yyyy-MM-dd HH:mm:ss.fff"})
    assert out["Value"] == "2023-11-14 22:13:20.000"
    out = await _fmt({"value": "1700000000123", "input_format": "unix_ms", "output_format": "unix"})
    assert out["Value"] == "1700000000.123"
    out = await _fmt({"value": "2023-11-14T22:13:20Z", "output_format": "unix_ms"})
    assert out["Value"] == "1700000000000"


async def test_empty_value_is_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    out = await _fmt({"output_format": "%Y-%m-%dT%H:%M:%S%z", "add_days": 1})
    got = datetime.strptime(out["Value"], "%Y-%m-%dT%H:%M:%S%z")
    assert before + timedelta(days=1) <= got <= datetime.now(UTC) + timedelta(days=1)


@pytest.mark.parametrize(
    ("props", "error"),
    [
        ({"value": "nope"}, "property value: cannot read 'nope' as ISO 8601 (set input_format)"),
        (
            {"value": "2024-13-01", "input_format": "yyyy-MM-dd"},
            "property value: cannot read '2024-13-01' as 'yyyy-MM-dd'",
        ),
        (
            {"value": "2024-05-01", "output_timezone": "Mars/Base"},
            "property output_timezone: unknown time zone 'Mars/Base'",
        ),
        (
            {"value": "2024-05-01", "input_timezone": "../etc"},
            "property input_timezone: unknown time zone '../etc'",
        ),
        (
            {"value": "9999-12-01", "add_months": 2},
            "the offsets move the date out of range (years 1 to 9999)",
        ),
        ({"value": "x", "add_days": "two"}, "property add_days: Expected `float`, got `str`"),
    ],
)
async def test_format_date_time_failures(props: dict[str, object], error: str) -> None:
    r = await run_activity(format_date_time, props)
    assert (r.status, r.error) == ("failed", error)


# -- generate_random_text ---------------------------------------------------------------


async def test_random_text_default_has_every_class() -> None:
    seen = set()
    for _ in range(20):
        r = await run_activity(generate_random_text, {})
        value = r.items[0]["Value"]
        assert len(value) == 16
        assert any(c in string.ascii_lowercase for c in value)
        assert any(c in string.ascii_uppercase for c in value)
        assert any(c in string.digits for c in value)
        assert set(value) <= set(string.ascii_letters + string.digits)
        seen.add(value)
    assert len(seen) == 20


async def test_random_text_symbols_and_custom_characters() -> None:
    r = await run_activity(
        generate_random_text,
        {
            "length": 4,
            "symbols": True,
            "symbol_set": "!",
            "lowercase": False,
            "uppercase": False,
            "digits": False,
        },
    )
    assert r.items == [{"Value": "!!!!"}]
    r = await run_activity(generate_random_text, {"length": "64", "characters": "ab"})
    assert set(r.items[0]["Value"]) == {"a", "b"} and len(r.items[0]["Value"]) == 64


@pytest.mark.parametrize(
    ("props", "error"),
    [
        ({"length": 0}, "property length: must be between 1 and 4096"),
        ({"length": 5000}, "property length: must be between 1 and 4096"),
        (
            {"lowercase": False, "uppercase": False, "digits": False},
            "property characters: no characters to choose from "
            "(turn on lowercase, uppercase, digits or symbols, or give characters)",
        ),
        (
            {"length": 2},
            "property length: 2 is too short for one character of each of "
            "3 classes (or set require_each to false)",
        ),
    ],
)
async def test_random_text_failures(props: dict[str, object], error: str) -> None:
    r = await run_activity(generate_random_text, props)
    assert (r.status, r.error) == ("failed", error)
