"""JSON Schemas of activities: field descriptions from docstrings or msgspec.Meta."""

from __future__ import annotations

from typing import Annotated

import msgspec

from orch.sdk import Context, Inputs, Published, Secret, activity
from orch.sdk.schema import input_schema, output_schema, type_record


class Nested(msgspec.Struct, kw_only=True):
    port: int = 22
    """Port number."""


class DemoInputs(Inputs):
    host: str
    """Docstring of host."""
    level: Annotated[int, msgspec.Meta(ge=0, description="From Meta.")] = 1
    """A docstring that Meta overrides."""
    password: Secret = ""
    """The password."""
    target: Nested | None = None
    """Where to connect."""


class DemoData(Published):
    Count: int
    """How many."""


@activity("demo", category="Test")
async def demo(ctx: Context, inputs: DemoInputs) -> list[DemoData]:
    """A demo."""
    return []


def test_input_schema_descriptions() -> None:
    schema = input_schema(demo)
    props = schema["properties"]
    assert schema["title"] == "core:demo properties" and schema["required"] == ["host"]
    assert props["host"]["description"] == "Docstring of host."
    assert props["level"]["description"] == "From Meta." and props["level"]["minimum"] == 0
    assert props["password"]["description"] == (
        "The password. (secret: never logged, published or returned)")
    assert props["password"]["writeOnly"] is True
    assert props["target"]["description"] == "Where to connect."
    assert schema["$defs"]["Nested"]["properties"]["port"]["description"] == "Port number."


def test_output_schema_is_text_with_the_declared_type() -> None:
    schema = output_schema(demo)
    assert schema["x-orch-multi-valued"] is True
    assert schema["properties"] == {
        "Count": {"type": "string", "x-orch-type": "integer", "description": "How many."}
    }
    record = type_record(demo)
    assert (record["name"], record["category"], record["rerunnable"]) == ("demo", "Test", False)
    msgspec.json.encode(record)  # storable as JSON
