"""The data activities, each run in isolation with the SDK's test helper."""

from __future__ import annotations

from activities import ACTIVITIES
from activities.data import compare_values, initialize_data, junction, return_data
from activities.timing import wait
from orch.sdk import Registry
from orch.sdk.testing import run_activity


def test_pack_exposes_the_runtime_core_activities() -> None:
    reg = Registry()
    reg.add_pack("core", ACTIVITIES)
    names = {t.name for t in reg}
    assert names >= {
        "initialize_data",
        "return_data",
        "junction",
        "run_program",
        "compare_values",
        "invoke_runbook",
        "wait",
    }
    assert reg.get("junction").role == "junction"
    assert reg.get("run_program").rerunnable is False
    assert reg.get("invoke_runbook").rerunnable is False
    assert reg.get("compare_values").rerunnable is True
    assert reg.get("wait").rerunnable is True


async def test_initialize_data_publishes_parameters_as_canonical_text() -> None:
    props = {
        "parameters": [
            {"name": "Service", "type": "string"},
            {"name": "Count", "type": "integer", "default": 3},
            {"name": "Force", "type": "boolean", "default": False},
            {"name": "When", "type": "datetime"},
            {"name": "Note", "required": False},
        ]
    }
    r = await run_activity(
        initialize_data,
        props,
        parameters={"Service": "nginx", "When": "2024-05-01T14:00:00+02:00"},
    )
    assert r.status == "success", r.error
    assert r.items == [
        {
            "Service": "nginx",
            "Count": "3",
            "Force": "false",
            "When": "2024-05-01T12:00:00Z",
            "Note": "",
        }
    ]
    assert initialize_data.fields(props) == {"Service", "Count", "Force", "When", "Note"}


async def test_initialize_data_optional_typed_parameter_left_empty() -> None:
    # a job's parameters give "" for an optional parameter without a default
    props = {"parameters": [{"name": "When", "type": "datetime", "required": False}]}
    r = await run_activity(initialize_data, props, parameters={"When": ""})
    assert r.status == "success", r.error
    assert r.items == [{"When": ""}]


async def test_initialize_data_rejects_missing_and_bad_parameters() -> None:
    props = {"parameters": [{"name": "Count", "type": "integer"}]}
    r = await run_activity(initialize_data, props)
    assert (r.status, r.error) == ("failed", "parameter Count is required")
    r = await run_activity(initialize_data, props, parameters={"Count": "many"})
    assert r.status == "failed"
    assert r.error is not None and r.error.startswith("parameter Count:")


async def test_compare_values_operators() -> None:
    cases = [
        ("abc", "equals", "abc", "true"),
        ("abc", "equals", "ABC", "false"),
        ("10", "gt", "9", "true"),
        ("10", "gt", "9x", "false"),
        ("server-01", "matches", r"-\d+$", "true"),
        ("5", "between", ["1", "5"], "true"),
        ("hello", "not_contains", "z", "true"),
    ]
    for value, op, to, want in cases:
        r = await run_activity(compare_values, {"value": value, "op": op, "to": to})
        assert r.status == "success", (op, r.error)
        assert r.items == [{"Result": want}], (value, op, to)


async def test_compare_values_names_a_bad_property() -> None:
    r = await run_activity(compare_values, {"value": "a", "op": "like", "to": "a"})
    assert r.status == "failed"
    assert r.error is not None and r.error.startswith("property op:")
    r = await run_activity(compare_values, {"value": "a", "op": "matches", "to": "("})
    assert r.status == "failed"
    assert r.error is not None and "regular expression" in r.error


async def test_return_data_sets_only_declared_names() -> None:
    r = await run_activity(return_data, {"data": {"Outcome": "ok"}}, returns=frozenset({"Outcome"}))
    assert (r.status, r.items, r.returned_data) == ("success", [{}], {"Outcome": "ok"})
    r = await run_activity(return_data, {"data": {"Other": "x"}}, returns=frozenset({"Outcome"}))
    assert r.status == "failed"
    assert r.error == "returned data Other not declared in the runbook's returns"


async def test_junction_republishes_arrivals_or_nothing() -> None:
    arrived = {"a": [{"X": "1"}, {"X": "2"}]}
    r = await run_activity(junction, {"return_data_from": "a"}, arrivals=arrived)
    assert r.items == [{"X": "1"}, {"X": "2"}]
    r = await run_activity(junction, {}, arrivals=arrived)
    assert r.items == [{}]


async def test_wait_and_its_timeout() -> None:
    r = await run_activity(wait, {"seconds": "0"})
    assert (r.status, r.items) == ("success", [{}])
    r = await run_activity(wait, {"seconds": 30}, timeout_seconds=0.05)
    assert (r.status, r.error) == ("failed", "timeout")
    r = await run_activity(wait, {"seconds": "soon"})
    assert r.status == "failed"
    assert r.error is not None and r.error.startswith("property seconds:")
    r = await run_activity(wait, {})
    assert (r.status, r.error) == ("failed", "property seconds is required")
    r = await run_activity(wait, {"seconds": 1, "minutes": 2})
    assert (r.status, r.error) == ("failed", "property minutes is not a property of wait")
