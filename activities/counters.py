"""``get_counter`` and ``modify_counter``: named integer counters shared by every server.

A change is one atomic step in the database (``UPDATE … RETURNING``), so two
runbooks incrementing the same counter on different servers never lose an
update. ``set``, ``increment`` and ``decrement`` create a missing counter from
0; ``reset`` returns it to its default (0 unless set through the API).
"""

from __future__ import annotations

from typing import Literal

from orch.sdk import ActivityError, Context, Inputs, Published, activity


class GetCounterInputs(Inputs):
    name: str
    """The counter's name."""


class ModifyCounterInputs(Inputs):
    name: str
    """The counter's name."""
    action: Literal["set", "increment", "decrement", "reset"] = "increment"
    """``set`` to ``value``; ``increment``/``decrement`` by ``value``; ``reset`` to the default."""
    value: int = 1
    """The new value (``set``) or the step (``increment``/``decrement``); unused by ``reset``."""


class Counter(Published):
    Name: str
    """The counter's name."""
    Value: int
    """Its value (after the change, for modify_counter)."""


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ActivityError("property name: a counter name is required")
    return name


@activity("get_counter", display_name="Get Counter Value", category="Counters", rerunnable=True)
async def get_counter(ctx: Context, inputs: GetCounterInputs) -> Counter:
    """Publish a counter's current value; an unknown counter fails the run."""
    name = _check_name(inputs.name)
    found = await ctx.services.counters.get(name)
    if found is None:
        raise ActivityError(f"no counter named {name!r}")
    return Counter(Name=name, Value=found.value)


@activity("modify_counter", display_name="Modify Counter", category="Counters")
async def modify_counter(ctx: Context, inputs: ModifyCounterInputs) -> Counter:
    """Set, increment, decrement or reset a counter atomically; publish its new value.

    Not rerunnable: an increment in flight when a server died may or may not
    have happened, so it is marked interrupted rather than applied twice.
    """
    name = _check_name(inputs.name)
    if inputs.action in ("increment", "decrement") and inputs.value < 0:
        raise ActivityError(f"property value: {inputs.action} takes a step of 0 or more")
    after = await ctx.services.counters.modify(name, inputs.action, inputs.value)
    return Counter(Name=name, Value=after.value)
