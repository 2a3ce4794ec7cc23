"""Activities that move data: start parameters, returned data, junctions, comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orch.sdk import (
    ActivityError,
    Context,
    Inputs,
    NoData,
    Operator,
    ParameterType,
    Published,
    activity,
    compare,
    parameter_text,
)


class ParameterSpec(Inputs):
    name: str
    type: ParameterType = "string"
    default: str | int | float | bool | None = None
    description: str = ""
    required: bool | None = None


class InitializeDataInputs(Inputs):
    parameters: list[ParameterSpec] = []


def _parameter_fields(properties: Mapping[str, Any]) -> frozenset[str] | None:
    params = properties.get("parameters", [])
    if not isinstance(params, list):
        return None
    names = [p.get("name") for p in params if isinstance(p, dict)]
    if not all(isinstance(n, str) for n in names):
        return None
    return frozenset(names)  # type: ignore[arg-type]


@activity(
    "initialize_data",
    display_name="Initialize Data",
    category="Runbook Control",
    rerunnable=True,
    dynamic_fields=_parameter_fields,
)
async def initialize_data(ctx: Context, inputs: InitializeDataInputs) -> dict[str, str]:
    """Start a runbook: publish each declared parameter's value (the job's, else its default).

    Values are the canonical text of their declared type; a required
    parameter the job did not give fails the run.
    """
    given = ctx.parameters
    out: dict[str, str] = {}
    for p in inputs.parameters:
        raw: Any = given.get(p.name, p.default)
        if raw is None:
            if p.required is not False:
                raise ActivityError(f"parameter {p.name} is required")
            out[p.name] = ""
            continue
        if raw == "" and p.type != "string" and p.required is False:
            out[p.name] = ""  # an optional typed parameter left empty (the job checked it)
            continue
        try:
            out[p.name] = parameter_text(raw, p.type)
        except ValueError as exc:
            raise ActivityError(f"parameter {p.name}: {exc}") from None
    return out


class ReturnDataInputs(Inputs):
    data: dict[str, str] = {}


@activity(
    "return_data",
    display_name="Return Data",
    category="Runbook Control",
    rerunnable=True,
)
async def return_data(ctx: Context, inputs: ReturnDataInputs) -> NoData:
    """Set the runbook's returned data (only names declared in the runbook's ``returns``)."""
    ctx.set_returned_data(inputs.data)
    return NoData()


class JunctionInputs(Inputs):
    return_data_from: str | None = None


@activity(
    "junction",
    display_name="Junction",
    category="Runbook Control",
    rerunnable=True,
    role="junction",
)
async def junction(ctx: Context, inputs: JunctionInputs) -> list[dict[str, str]]:
    """Wait for every branch linked into it, then go on once.

    With ``return_data_from`` it republishes the items that arrived from that
    branch (downstream runs once per item); without it, it publishes one
    item with no fields of its own (downstream runs once).
    """
    if inputs.return_data_from is None:
        return [{}]
    return [dict(item) for item in ctx.arrivals(inputs.return_data_from)]


class CompareValuesInputs(Inputs):
    value: str = ""
    op: Operator = "equals"
    to: str | list[str] = ""


class CompareResult(Published):
    Result: bool


@activity(
    "compare_values",
    display_name="Compare Values",
    category="Utilities",
    rerunnable=True,
)
async def compare_values(ctx: Context, inputs: CompareValuesInputs) -> CompareResult:
    """Compare two texts with a link-condition operator; publish ``Result`` (true/false)."""
    return CompareResult(Result=compare(inputs.value, inputs.op, inputs.to))
