"""``wait``: pause the path for a number of seconds."""

from __future__ import annotations

import asyncio

from orch.sdk import Context, Inputs, NoData, activity


class WaitInputs(Inputs):
    seconds: float


@activity("wait", display_name="Wait", category="Runbook Control", rerunnable=True)
async def wait(ctx: Context, inputs: WaitInputs) -> NoData:
    """Sleep ``seconds`` (a stop interrupts it at once)."""
    await asyncio.sleep(max(0.0, inputs.seconds))
    return NoData()
