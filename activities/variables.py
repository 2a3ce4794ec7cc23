"""``get_variable`` and ``set_variable``: global variables from a runbook.

Runbooks read variables with ``{variable:Name}`` too; these activities are
for reading one whose name is computed, with a default, and for writing one
(a value a later job reads). They go through ``ctx.services.variables``: the
``variables`` table on a runbook server, a dict in tests. Encrypted variables
are set through the API only (their key is the server's), so ``set_variable``
refuses to overwrite one.
"""

from __future__ import annotations

from orch.sdk import ActivityError, Context, Inputs, Published, activity


class GetVariableInputs(Inputs):
    name: str
    """The variable's name."""
    default: str | None = None
    """Published when the variable does not exist; without it a missing variable fails the run."""


class SetVariableInputs(Inputs):
    name: str
    """The variable's name (created when missing)."""
    value: str
    """Its new value (text)."""


class Variable(Published):
    Name: str
    """The variable's name."""
    Value: str
    """Its value."""
    Exists: bool
    """false when the default was published instead."""


class VariableSet(Published):
    Name: str
    """The variable's name."""
    Value: str
    """The value it now holds."""


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ActivityError("property name: a variable name is required")
    return name


@activity("get_variable", display_name="Get Variable", category="Variables", rerunnable=True)
async def get_variable(ctx: Context, inputs: GetVariableInputs) -> Variable:
    """Publish a global variable's value (or the default when it does not exist)."""
    name = _check_name(inputs.name)
    value = await ctx.services.variables.get(name)
    if value is None:
        if inputs.default is None:
            raise ActivityError(f"no variable named {name!r}")
        return Variable(Name=name, Value=inputs.default, Exists=False)
    return Variable(Name=name, Value=value, Exists=True)


@activity("set_variable", display_name="Set Variable", category="Variables", rerunnable=True)
async def set_variable(ctx: Context, inputs: SetVariableInputs) -> VariableSet:
    """Create or replace a plain-text global variable (setting it twice is harmless)."""
    name = _check_name(inputs.name)
    await ctx.services.variables.set(name, inputs.value)
    return VariableSet(Name=name, Value=inputs.value)
