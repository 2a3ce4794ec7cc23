"""Stand-in activity types and document builders for the document tests.

The stand-ins have the names, inputs and published fields of the core
activities (DESIGN.md "Core activities"), so these tests do not depend on the
runtime's implementations — only on the SDK's declarations.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import msgspec

from orch.document import DocumentInvalid, Fault, Parameter, load
from orch.document.model import Operator
from orch.sdk import Inputs, NoData, Published, Registry, Secret, activity


class InitializeDataInputs(Inputs):
    parameters: list[Parameter] = []


def _parameter_names(properties: Mapping[str, Any]) -> frozenset[str] | None:
    params = properties.get("parameters", [])
    if not isinstance(params, list):
        return None
    # deliberately lax (a pack's hook may be): names that are not text reach the checker
    return frozenset(p["name"] for p in params if isinstance(p, dict) and "name" in p)


@activity("initialize_data", dynamic_fields=_parameter_names)
async def initialize_data(ctx: Any, inputs: InitializeDataInputs) -> dict[str, str]:
    return {}


class ReturnDataInputs(Inputs):
    data: dict[str, str] = {}


@activity("return_data")
async def return_data(ctx: Any, inputs: ReturnDataInputs) -> NoData:
    return NoData()


class JunctionInputs(Inputs):
    return_data_from: str | None = None


@activity("junction", role="junction")
async def junction(ctx: Any, inputs: JunctionInputs) -> list[dict[str, str]]:
    return []


class RunProgramInputs(Inputs):
    program: str
    args: list[str] = []
    env: dict[str, str] = {}
    cwd: str | None = None
    success_exit_codes: list[int] = msgspec.field(default_factory=lambda: [0])
    split_output: bool = False


def _run_program_fields(properties: Mapping[str, Any]) -> frozenset[str] | None:
    split = properties.get("split_output", False)
    if split in (True, "true"):
        return frozenset({"Line", "LineNumber"})
    if split in (False, "false"):
        return frozenset({"Output", "ErrorOutput", "ExitCode"})
    return None


@activity(
    "run_program",
    dynamic_fields=_run_program_fields,
    several_items=lambda p: p.get("split_output", False) not in (False, "false"),
)
async def run_program(ctx: Any, inputs: RunProgramInputs) -> list[dict[str, str]]:
    return []


class CompareValuesInputs(Inputs):
    value: str = ""
    op: Operator = "equals"
    to: str | list[str] = ""


class CompareResult(Published):
    Result: bool


@activity("compare_values", rerunnable=True)
async def compare_values(ctx: Any, inputs: CompareValuesInputs) -> CompareResult:
    return CompareResult(Result=True)


class InvokeRunbookInputs(Inputs):
    runbook: str
    parameters: dict[str, str] = {}
    wait: bool = True


@activity("invoke_runbook", dynamic_fields=lambda properties: None)
async def invoke_runbook(ctx: Any, inputs: InvokeRunbookInputs) -> dict[str, str]:
    return {}


class WaitInputs(Inputs):
    seconds: float


@activity("wait", rerunnable=True, default_timeout=3600)
async def wait(ctx: Any, inputs: WaitInputs) -> NoData:
    return NoData()


class WatchInputs(Inputs):
    path: str


class WatchData(Published):
    Path: str


@activity("watch_file", monitor=True)
async def watch_file(ctx: Any, inputs: WatchInputs) -> WatchData:
    return WatchData(Path=inputs.path)


class LoginInputs(Inputs):
    user: str
    password: Secret
    token: Secret | None = None
    port: int = 22


class LoginData(Published):
    Session: str


@activity("login")
async def login(ctx: Any, inputs: LoginInputs) -> LoginData:
    return LoginData(Session="s")


class RangeInputs(Inputs):
    low: int
    high: int

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


@activity("check_range")
async def check_range(ctx: Any, inputs: RangeInputs) -> NoData:
    return NoData()


def make_registry() -> Registry:
    registry = Registry(
        [
            initialize_data,
            return_data,
            junction,
            run_program,
            compare_values,
            invoke_runbook,
            wait,
            watch_file,
            check_range,
        ]
    )
    registry.add_pack("ext", [login])
    return registry


REGISTRY = make_registry()

BASE: dict[str, Any] = {
    "format": "orch.runbook/1",
    "name": "Greet",
    "folder": "/Tests",
    "returns": [{"name": "Greeting"}],
    "activities": [
        {
            "id": "start",
            "type": "initialize_data",
            "properties": {"parameters": [{"name": "Name", "type": "string", "default": "World"}]},
        },
        {
            "id": "greet",
            "type": "run_program",
            "properties": {"program": "echo", "args": ["Hello {start.Name}"]},
        },
        {
            "id": "done",
            "type": "return_data",
            "properties": {"data": {"Greeting": "{greet.Output}"}},
        },
    ],
    "links": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "done"}],
}


def base() -> dict[str, Any]:
    """A fresh copy of a valid document: start → greet → done."""
    return copy.deepcopy(BASE)


def faults(doc: Any, registry: Registry = REGISTRY) -> list[Fault]:
    """Every fault ``load`` reports (empty when the document is valid)."""
    try:
        load(doc, registry)
    except DocumentInvalid as e:
        assert e.faults, "DocumentInvalid without faults"
        return e.faults
    return []


def the_fault(doc: Any, code: str, *, registry: Registry = REGISTRY) -> Fault:
    """The document's only fault, which must have ``code``."""
    found = faults(doc, registry)
    assert len(found) == 1, found
    assert found[0].code == code, found
    return found[0]


def fault_with(doc: Any, code: str, path: str) -> Fault:
    """The fault with ``code`` at ``path`` among the document's faults."""
    found = faults(doc)
    matching = [f for f in found if f.code == code and f.path == path]
    assert len(matching) == 1, found
    return matching[0]
