"""invoke_runbook in isolation, against a fake launcher."""

from __future__ import annotations

import asyncio

import msgspec

from activities.runbooks import invoke_runbook
from orch.sdk.testing import run_activity


class Child(msgspec.Struct):
    job_id: str
    status: str
    returned_data: dict[str, str]


class FakeLauncher:
    def __init__(self, status: str = "success", block: bool = False) -> None:
        self.status = status
        self.block = block
        self.started: list[tuple[str, dict[str, str]]] = []
        self.stopped: list[str] = []
        self.waiting = asyncio.Event()

    async def start(self, runbook: str, parameters: dict[str, str]) -> str:
        self.started.append((runbook, parameters))
        return f"job-{len(self.started)}"

    async def wait(self, job_id: str) -> Child:
        self.waiting.set()
        if self.block:
            await asyncio.Event().wait()
        return Child(job_id, self.status, {"Answer": "42", "ChildJobId": "spoofed"})

    async def stop(self, job_id: str) -> None:
        self.stopped.append(job_id)


async def test_waits_and_publishes_returned_data() -> None:
    fake = FakeLauncher()
    r = await run_activity(
        invoke_runbook, {"runbook": "/Ops/Child", "parameters": {"N": 3}}, runbooks=fake
    )
    assert (r.status, r.items) == ("success", [{"Answer": "42", "ChildJobId": "job-1"}])
    assert fake.started == [("/Ops/Child", {"N": "3"})]


async def test_without_waiting_publishes_only_the_job_id() -> None:
    fake = FakeLauncher()
    r = await run_activity(invoke_runbook, {"runbook": "x", "wait": "false"}, runbooks=fake)
    assert r.items == [{"ChildJobId": "job-1"}]
    assert not fake.waiting.is_set()


async def test_child_status_maps_to_the_run_status() -> None:
    r = await run_activity(invoke_runbook, {"runbook": "x"}, runbooks=FakeLauncher("failed"))
    assert (r.status, r.error) == ("failed", "child job job-1 ended failed")
    assert r.items[0]["ChildJobId"] == "job-1"
    r = await run_activity(invoke_runbook, {"runbook": "x"}, runbooks=FakeLauncher("warning"))
    assert (r.status, r.error) == ("warning", "child job job-1 ended with a warning")


async def test_cancelled_while_waiting_stops_the_child() -> None:
    fake = FakeLauncher(block=True)
    task = asyncio.create_task(run_activity(invoke_runbook, {"runbook": "x"}, runbooks=fake))
    await fake.waiting.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert fake.stopped == ["job-1"]


async def test_no_launcher_available() -> None:
    r = await run_activity(invoke_runbook, {"runbook": "x"})
    assert (r.status, r.error) == ("failed", "starting other runbooks is not available here")
