"""Shared pieces for the runtime tests: a registry with test activities, document
builders, and a summary of recorded runs that tests compare exactly."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from typing import Any

from activities import ACTIVITIES
from actors.instance import InstanceActor, RuntimeOptions
from actors.memory import MemoryLauncher, MemoryStore, MemoryVariables
from actors.store import EventSink, InstancePlan, RecordedRun, RuntimeEvent
from orch.document import load, parse_parameters
from orch.sdk import ActivityError, Context, Inputs, NoData, Published, Registry, activity
from orch.sdk.context import LogSink

# -- test activities ------------------------------------------------------------


class ItemsIn(Inputs):
    values: list[str] = []
    field: str = "Value"


@activity("items", rerunnable=True, dynamic_fields=lambda p: frozenset({p.get("field", "Value")}))
async def items(ctx: Context, inputs: ItemsIn) -> list[dict[str, str]]:
    """One item per value (multi-valued data)."""
    return [{inputs.field: v} for v in inputs.values]


class EchoIn(Inputs):
    value: str = ""


class EchoOut(Published):
    Value: str


@activity("echo", rerunnable=True)
async def echo(ctx: Context, inputs: EchoIn) -> EchoOut:
    return EchoOut(Value=inputs.value)


class FailIn(Inputs):
    message: str = "boom"


@activity("fail", rerunnable=True)
async def fail(ctx: Context, inputs: FailIn) -> NoData:
    raise ActivityError(inputs.message)


class WarnIn(Inputs):
    message: str = "careful"


@activity("warn", rerunnable=True)
async def warn(ctx: Context, inputs: WarnIn) -> EchoOut:
    ctx.warn(inputs.message)
    return EchoOut(Value="warned")


class AttemptIn(Inputs):
    fail_before: int = 0
    """Fail attempts numbered below this."""


class AttemptOut(Published):
    Attempt: int


@activity("attempt", rerunnable=True)
async def attempt(ctx: Context, inputs: AttemptIn) -> AttemptOut:
    if ctx.attempt < inputs.fail_before:
        ctx.fail(f"attempt {ctx.attempt} failed")
    return AttemptOut(Attempt=ctx.attempt)


class Gate:
    """Lets a test hold an activity run open: ``entered`` is set when a run
    arrives, the run goes on when ``release`` is set."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.count = 0
        self.cancelled = 0


GATES: dict[str, Gate] = {}


class GateIn(Inputs):
    gate: str
    value: str = ""
    hold_from_attempt: int = 1
    """Loop attempts before this one pass without waiting."""


async def _gate(ctx: Context, inputs: GateIn) -> EchoOut:
    g = GATES[inputs.gate]
    if ctx.attempt < inputs.hold_from_attempt:
        return EchoOut(Value=inputs.value)
    g.count += 1
    g.entered.set()
    try:
        await g.release.wait()
    except asyncio.CancelledError:
        g.cancelled += 1
        raise
    return EchoOut(Value=inputs.value)


async def _gate_rerunnable(ctx: Context, inputs: GateIn) -> EchoOut:
    return await _gate(ctx, inputs)


async def _gate_once(ctx: Context, inputs: GateIn) -> EchoOut:
    return await _gate(ctx, inputs)


gate = activity("gate", rerunnable=True)(_gate_rerunnable)
gate_once = activity("gate_once", rerunnable=False)(_gate_once)


class SlowIn(Inputs):
    seconds: float = 30


@activity("slow", rerunnable=True, default_timeout=0.05)
async def slow(ctx: Context, inputs: SlowIn) -> NoData:
    await asyncio.sleep(inputs.seconds)
    return NoData()


class JitterIn(Inputs):
    value: str = ""
    delay: float = 0.0
    """Seconds to wait before publishing; negative: a random wait of up to -delay
    (so that runs of a fan-out end in a different order each time)."""


@activity("jitter", rerunnable=True)
async def jitter(ctx: Context, inputs: JitterIn) -> EchoOut:
    delay = inputs.delay if inputs.delay >= 0 else random.uniform(0, -inputs.delay)
    await asyncio.sleep(delay)
    return EchoOut(Value=inputs.value)


TEST_ACTIVITIES = [items, echo, fail, warn, attempt, gate, gate_once, slow, jitter]


def registry() -> Registry:
    reg = Registry()
    reg.add_pack("core", ACTIVITIES)
    reg.add_pack("t", TEST_ACTIVITIES)
    return reg


REGISTRY = registry()


# -- documents ------------------------------------------------------------------


def act(id: str, type: str, **properties: Any) -> dict[str, Any]:
    return {"id": id, "type": type, "properties": properties}


def link(src: str, dst: str, **kw: Any) -> dict[str, Any]:
    return {"from": src, "to": dst, **kw}


def cond(data: str, op: str, value: Any) -> dict[str, Any]:
    return {"data": data, "op": op, "value": value}


def literal(text: str) -> str:
    """``text`` as a property that is not an expression (braces and brackets doubled)."""
    return text.replace("{", "{{").replace("}", "}}").replace("[", "[[").replace("]", "]]")


def runbook(
    activities: list[dict[str, Any]], links: list[dict[str, Any]], **kw: Any
) -> dict[str, Any]:
    return {
        "format": "orch.runbook/1",
        "name": kw.pop("name", "test"),
        "folder": kw.pop("folder", "/tests"),
        "activities": activities,
        "links": links,
        **kw,
    }


# -- running --------------------------------------------------------------------


class Events:
    """An EventSink keeping every event."""

    def __init__(self) -> None:
        self.events: list[RuntimeEvent] = []

    def emit(self, event: RuntimeEvent) -> None:
        self.events.append(event)


class Harness:
    """One instance on a MemoryStore, its actor reachable for stop/crash tests."""

    def __init__(
        self,
        document: dict[str, Any],
        parameters: dict[str, Any] | None = None,
        *,
        runbooks: dict[str, Any] | None = None,
        variables: dict[str, str] | None = None,
        options: RuntimeOptions | None = None,
        log_sink: LogSink | None = None,
    ) -> None:
        self.log_sink = log_sink
        self.compiled = load(document, REGISTRY)
        self.store = MemoryStore()
        self.events = Events()
        self.variables = MemoryVariables(variables)
        self.runbooks = runbooks
        self.options = options
        params = parse_parameters(self.compiled, dict(parameters or {}))
        self.plan = self.store.add_job(document, params)
        self.actor: InstanceActor | None = None

    @property
    def instance_id(self) -> str:
        return self.plan.ref.instance_id

    def runs(self) -> list[RecordedRun]:
        return self.store.runs_of(self.instance_id)

    async def run(self, plan: InstancePlan | None = None, sink: EventSink | None = None):
        async with MemoryLauncher(
            self.store,
            REGISTRY,
            self.runbooks,
            events=sink or self.events,
            variables=self.variables,
            options=self.options,
        ) as launcher:
            self.actor = InstanceActor(
                plan or self.plan,
                self.store,
                registry=REGISTRY,
                compiled=self.compiled,
                events=sink or self.events,
                launcher=launcher,
                variables=self.variables,
                options=self.options,
                log_sink=self.log_sink,
            )
            return await self.actor.run()


async def run(document: dict[str, Any], parameters: dict[str, Any] | None = None, **kw: Any):
    h = Harness(document, parameters, **kw)
    outcome = await h.run()
    return h, outcome


def summary(runs: Iterable[RecordedRun], field: str | None = "Value") -> list[tuple[Any, ...]]:
    """(activity, status, item, values of ``field`` over the published items) per run."""
    out = []
    for r in runs:
        values = tuple(p.get(field, "") for p in r.published) if field else ()
        out.append((r.activity, r.status, r.item, values))
    return out


def by_activity(runs: Iterable[RecordedRun]) -> dict[str, list[RecordedRun]]:
    out: dict[str, list[RecordedRun]] = {}
    for r in runs:
        out.setdefault(r.activity, []).append(r)
    return out


async def wait_for(predicate, timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds (deadline, not a bare sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
