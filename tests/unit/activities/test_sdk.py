"""The SDK's conversions and Context, which every activity relies on."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from orch.errors import ActivityError
from orch.sdk import (
    Context,
    InputError,
    Inputs,
    InstanceInfo,
    NoData,
    Published,
    activity,
    convert_inputs,
    to_items,
    to_text,
)
from orch.sdk.testing import run_activity


class Color(enum.Enum):
    RED = "red"


def test_to_text_canonical_forms() -> None:
    cest = timezone(timedelta(hours=2))
    assert [
        to_text(v)
        for v in (
            "x",
            None,
            True,
            False,
            42,
            3.0,
            2.5,
            Decimal("1.50"),
            datetime(2024, 5, 1, 14, 0, tzinfo=cest),
            datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC),
            datetime(2024, 5, 1, 12, 0),
            Color.RED,
            [1, "a"],
            {"k": 1},
        )
    ] == [
        "x",
        "",
        "true",
        "false",
        "42",
        "3",
        "2.5",
        "1.50",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.500000Z",
        "2024-05-01T12:00:00Z",
        "red",
        '[1,"a"]',
        '{"k":1}',
    ]


class Out(Published):
    Count: int
    Ok: bool
    When: datetime | None = None


def test_to_items_shapes() -> None:
    assert to_items(None) == [{}]
    assert to_items(Out(Count=2, Ok=True)) == [{"Count": "2", "Ok": "true", "When": ""}]
    assert to_items([Out(Count=1, Ok=False)]) == [{"Count": "1", "Ok": "false", "When": ""}]
    assert to_items([]) == []
    assert to_items({"A": 1}) == [{"A": "1"}]
    assert to_items(NoData()) == [{}]
    with pytest.raises(ActivityError):
        to_items(42)


class In(Inputs):
    count: int
    names: list[str] = []
    flag: bool = False
    limit: float | None = None


@activity("probe", rerunnable=True)
async def probe(ctx: Context, inputs: In) -> Out:
    return Out(Count=inputs.count + len(inputs.names), Ok=inputs.flag)


def test_convert_inputs_reads_text_and_names_the_property() -> None:
    got = convert_inputs(probe, {"count": "3", "names": ["a", 7], "flag": "true"})
    assert (got.count, got.names, got.flag) == (3, ["a", "7"], True)
    cases = {
        "count": ({"count": "three"}, "property count: Expected `int`, got `str`"),
        "names": ({"count": 1, "names": "a"}, "property names: Expected `array`, got `str`"),
        "missing": ({}, "property count is required"),
        "unknown": ({"count": 1, "colour": "red"}, "property colour is not a property of probe"),
    }
    for name, (props, message) in cases.items():
        with pytest.raises(InputError) as err:
            convert_inputs(probe, props)
        assert err.value.message == message, name
    with pytest.raises(InputError) as err:
        convert_inputs(probe, {"count": 1, "names": ["a", {"x": 1}]})
    assert err.value.property == "names"


async def test_context_status_messages_and_returned_data() -> None:
    ctx = Context(InstanceInfo(returns=frozenset({"A"})), "act", "Act", "run-1")
    assert (ctx.status, ctx.message) == ("success", None)
    ctx.warn("w1")
    assert ctx.status == "warning"
    ctx.fail("f1")
    ctx.warn("w2")
    assert (ctx.status, ctx.message) == ("failed", "w1; f1; w2")
    ctx.set_returned_data({"A": "1"})
    assert ctx.returned_data == {"A": "1"}
    with pytest.raises(ActivityError):
        ctx.set_returned_data({"B": "2"})
    assert ctx.arrivals("x") == ()


async def test_context_variables_prefetched_then_looked_up() -> None:
    class Source:
        def __init__(self) -> None:
            self.asked: list[frozenset[str]] = []

        async def get_variables(self, names: frozenset[str]) -> dict[str, str]:
            self.asked.append(names)
            return {"Late": "v2"} if "Late" in names else {}

    src = Source()
    ctx = Context(InstanceInfo(variables={"Early": "v1"}, variable_source=src), "a", "a", "r")
    assert await ctx.variable("Early") == "v1"
    assert await ctx.variable("Late") == "v2"
    assert await ctx.variable("Nope") is None
    assert src.asked == [frozenset({"Late"}), frozenset({"Nope"})]


async def test_run_activity_helper() -> None:
    r = await run_activity(probe, {"count": "2", "names": ["x"]})
    assert (r.status, r.items, r.error) == (
        "success",
        [{"Count": "3", "Ok": "false", "When": ""}],
        None,
    )
    r = await run_activity(probe, {"count": "x"})
    assert (r.status, r.items) == ("failed", [])
    assert msgspec.to_builtins(r)["error"] == "property count: Expected `int`, got `str`"
