"""``orch job watch``, ``orch runbook watch`` and ``orch job start --wait`` on the live feed."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys

from click.testing import CliRunner, Result

import orch.cli.job
import orch.cli.watch  # registers the verbs
from orch.cli.main import cli
from tests.integration.gateway.conftest import ADMIN_TOKEN, document
from tests.integration.helpers import running_server
from tests.integration.live.conftest import Gateway, eventually

ANSI = re.compile(r"\x1b\[[0-9;]*m")


async def orch(gw: Gateway, *args: str, color: bool = False) -> Result:
    """A CLI verb against the gateway (in a thread: the CLI runs its own event loop)."""
    argv = [*args, "--url", gw.url, "--token", ADMIN_TOKEN]
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, catch_exceptions=False,
                                   color=color)


async def test_job_watch_prints_one_line_per_event_and_exits_with_the_status(gateways,
                                                                              dsn) -> None:
    gw = await gateways()
    await gw.client.check_in(document())
    async with running_server(dsn):
        job = await gw.client.start_job("/Examples/Hello", {"Name": "cli"})
        result = await orch(gw, "job", "watch", job.id, color=True)
    assert result.exit_code == 0, result.output
    # (the in-process runbook server's log shares stdout: keep the verb's lines)
    lines = [line for line in result.stdout.splitlines() if line.startswith("#")]
    assert len(lines) == 11
    plain = [ANSI.sub("", line) for line in lines]
    assert re.match(r"^#\d+ \d\d:\d\d:\d\d\.\d{3} job +queued$", plain[0])
    assert "instance" in plain[2] and plain[2].endswith("running on s1")
    assert [line.split()[2:4] for line in plain[3:9]] == [
        ["activity", "start"], ["activity", "start"], ["activity", "greet"],
        ["activity", "greet"], ["activity", "done"], ["activity", "done"]]
    assert plain[-1].split()[-1] == "success"
    assert "\x1b[32m" in lines[-1]  # success is green

    as_json = await orch(gw, "job", "watch", job.id, "--json", "--after", "0")
    events = [json.loads(line) for line in as_json.stdout.splitlines() if line.startswith("{")]
    assert [e["status"] for e in events][-1] == "success" and len(events) == 11
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)

    missing = await orch(gw, "job", "watch", "00000000-0000-4000-8000-000000000000")
    assert missing.exit_code == 1 and "no job" in missing.stderr


async def test_failed_job_watch_exits_1(gateways, dsn) -> None:
    gw = await gateways()
    doc = document(name="Fails")
    doc["activities"][1]["properties"] = {"program": "false"}
    await gw.client.check_in(doc)
    async with running_server(dsn):
        job = await gw.client.start_job("/Examples/Fails", {"Name": "x"})
        result = await orch(gw, "job", "watch", job.id)
    assert result.exit_code == 1
    assert "exit code 1" in result.stdout


async def test_runbook_watch_follows_every_job_of_the_runbook(gateways, dsn) -> None:
    gw = await gateways()
    await gw.client.check_in(document())
    await gw.client.check_in(document(name="Other"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from orch.cli.main import main; main()",
        "runbook", "watch", "/Examples/Hello", "--json", "--url", gw.url, "--token", ADMIN_TOKEN,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ORCH_LOG_LEVEL": "WARNING"},
    )
    try:
        await eventually(lambda: any(s.subs for s in gw.feed.sockets), timeout=30)
        async with running_server(dsn):
            jobs = [await gw.client.start_job("/Examples/Hello", {"Name": str(i)})
                    for i in range(2)]
            await gw.client.start_job("/Examples/Other", {"Name": "not watched"})
            events: list[dict] = []
            while sum(e["kind"] == "job" and e["status"] == "success" for e in events) < 2:
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                assert line, await proc.stderr.read()
                events.append(json.loads(line))
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 130
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert {e["job_id"] for e in events} == {j.id for j in jobs}
    assert len(events) == 22
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)


async def test_start_wait_follows_the_feed(gateways, dsn) -> None:
    gw = await gateways()
    await gw.client.check_in(document())
    async with running_server(dsn):
        result = await orch(gw, "job", "start", "/Examples/Hello", "-p", "Name=Feed", "--wait")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "greet" in out and "Output=Hello, Feed!" in out
    assert "returned: Greeting=Hello, Feed!" in out
    greet = [line for line in out.splitlines() if line.strip().startswith("greet")]
    assert len(greet) == 2  # started, then ended with its data
