"""A test integration pack whose activities leave countable side effects.

``ft_effect`` (not rerunnable) and ``ft_step`` (rerunnable) append one line,
``<job id> <activity id>``, to ``file`` when they begin, then wait for
``gate`` (a path) to exist, or for ``seconds``. Counting the lines tells how
often each activity really ran, across kills and takeovers; the gate lets a
test hold an activity in flight for as long as it needs.

Both the test process (to check runbooks in) and the server subprocesses
(``python -m tests.integration.failover.serve``) install it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from orch.sdk import Context, Inputs, NoData, activity
from orch.sdk.registry import default_registry

PACK = "failtest"


class EffectInputs(Inputs):
    file: str
    gate: str = ""
    """Wait until this path exists (empty: no gate)."""
    seconds: float = 0.0


async def _effect(ctx: Context, inputs: EffectInputs) -> NoData:
    line = f"{ctx.info.job_id} {ctx.activity_id}\n".encode()
    fd = os.open(inputs.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write with O_APPEND: whole lines, whoever else appends
    finally:
        os.close(fd)
    if inputs.gate:
        gate = Path(inputs.gate)
        while not gate.exists():
            await asyncio.sleep(0.02)
    if inputs.seconds > 0:
        await asyncio.sleep(inputs.seconds)
    return NoData()


@activity("ft_effect", display_name="Effect", category="Failover tests", rerunnable=False)
async def ft_effect(ctx: Context, inputs: EffectInputs) -> NoData:
    """A side effect that must never happen twice."""
    return await _effect(ctx, inputs)


@activity("ft_step", display_name="Step", category="Failover tests", rerunnable=True)
async def ft_step(ctx: Context, inputs: EffectInputs) -> NoData:
    """A side effect that may safely happen again (re-run after a takeover)."""
    return await _effect(ctx, inputs)


ACTIVITIES = (ft_effect, ft_step)


def install() -> None:
    """Add the pack to this process' default registry (idempotent)."""
    registry = default_registry()
    if registry.get(f"{PACK}:ft_effect") is None:
        registry.add_pack(PACK, ACTIVITIES)


def count(file: Path) -> dict[tuple[str, str], int]:
    """How often each (job id, activity id) ran, from the side-effect file."""
    out: dict[tuple[str, str], int] = {}
    if not file.exists():
        return out
    for line in file.read_text().splitlines():
        job, _, act = line.partition(" ")
        out[(job, act)] = out.get((job, act), 0) + 1
    return out
