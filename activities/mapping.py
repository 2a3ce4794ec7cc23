"""``map_published_data``: translate a value through a table of rules (SCO's Map Published Data)."""

from __future__ import annotations

from activities.data import Operator
from orch.sdk import ActivityError, Context, Inputs, Published, activity, compare


class MapRule(Inputs):
    value: str | list[str]
    """The operand the input is compared with (``[low, high]`` for ``between``)."""
    result: str
    """What the input maps to when this rule matches."""
    op: Operator = "equals"
    """How to compare: the link-condition operators (equals, matches, starts_with, lt, …)."""


class MapPublishedDataInputs(Inputs):
    value: str
    """The value to translate (usually another activity's published data)."""
    rules: list[MapRule] | dict[str, str] = []
    """Rules tried in order, the first match wins; a ``{"from": "to"}`` object is a table
    of ``equals`` rules."""
    default: str | None = None
    """The result when no rule matches; without it an unmatched value fails the run."""


class MappedValue(Published):
    Value: str
    """The mapped value (or the default)."""
    Matched: bool
    """false when the default was used."""
    Rule: int
    """1-based number of the rule that matched (0 for the default)."""


@activity(
    "map_published_data",
    display_name="Map Published Data",
    category="Utilities",
    rerunnable=True,
)
async def map_published_data(ctx: Context, inputs: MapPublishedDataInputs) -> MappedValue:
    """Publish the result of the first rule that matches ``value``, else ``default``.

    Rules compare with the same semantics as link conditions (case-sensitive;
    numbers compared as numbers; ``matches`` is a regular-expression search).
    """
    rules = inputs.rules
    if isinstance(rules, dict):
        rules = [MapRule(value=k, result=v) for k, v in rules.items()]
    for n, rule in enumerate(rules, 1):
        try:
            hit = compare(inputs.value, rule.op, rule.value)
        except ActivityError as exc:
            raise ActivityError(f"property rules[{n - 1}]: {exc.message}") from None
        if hit:
            return MappedValue(Value=rule.result, Matched=True, Rule=n)
    if inputs.default is None:
        raise ActivityError(
            f"property rules: no rule matches {inputs.value!r} and there is no default"
        )
    return MappedValue(Value=inputs.default, Matched=False, Rule=0)
