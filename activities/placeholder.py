"""``not_imported``: stands where an imported runbook had something orch cannot run.

The SCO import writes it for an activity it cannot map (an integration pack
orch does not have, a C#/VB/JScript script…), keeping the original
activity's fields, so nothing is dropped silently: a run fails with
``not imported: <type>`` until someone replaces it.
"""

from __future__ import annotations

from orch.sdk import ActivityError, Context, Inputs, NoData, activity


class NotImportedInputs(Inputs):
    source_type: str
    """The original activity type (``Run .Net Script (C#)``, ``Get Alert``…)."""
    message: str = ""
    """What to do instead (shown with the failure)."""
    original: dict[str, str] = {}
    """The original activity's settings, as text, for whoever replaces it."""


@activity("not_imported", display_name="Not Imported", category="Runbook Control",
          rerunnable=True)  # fmt: skip
async def not_imported(ctx: Context, inputs: NotImportedInputs) -> NoData:
    """Fail with ``not imported: <source_type>``: a placeholder left by an import."""
    detail = f" — {inputs.message}" if inputs.message else ""
    raise ActivityError(f"not imported: {inputs.source_type}{detail}")
