"""live: 100 websocket clients subscribed to `all` while 1,000 chain10 instances run.

A runbook server and a gateway run as their own processes (``orch server``,
``orch gateway``), as in production; this process holds the clients. Delay is
from an event's commit — ``pg_xact_commit_timestamp`` of the row, so the
embedded PostgreSQL runs with ``track_commit_timestamp=on`` — to the arrival
of the frame carrying it at a client (same host, same clock). Every client
must receive every event of the run exactly once, in order. Prints one JSON
line: p50/p99/max delay, frames and events per second sent (all clients),
and the CPU seconds of each process during the run.

    python bench/live.py [--clients 100] [--instances 1000] [--decode N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Iterator

import aiohttp
import msgspec
import psutil
from _common import check_in, create_pool, percentile, server_process
from chain10 import DOC

from orch.db.bootstrap import bootstrap_admin
from orch.db.connect import connect
from orch.db.embedded import EmbeddedPostgres
from orch.db.jobs import create_job
from orch.db.migrate import migrate

TOKEN = f"orch_bench-{uuid.uuid4().hex}"
_MAIN = "from orch.cli.main import main; main()"
_URL = re.compile(r"gateway on (http://\S+)/api/v1")


class _Event(msgspec.Struct):
    seq: int


class _Frame(msgspec.Struct):
    type: str
    events: list[_Event] = []


_decode = msgspec.json.Decoder(_Frame).decode


@contextlib.asynccontextmanager
async def database() -> AsyncIterator[tuple[str, bool, str | None]]:
    """(dsn, whether commit timestamps are tracked, the embedded server's data folder)."""
    url = os.environ.get("ORCH_DATABASE_URL")
    if url:
        await migrate(url)
        conn = await connect(url)
        try:
            tracked = await conn.fetchval("SHOW track_commit_timestamp") == "on"
        finally:
            await conn.close()
        yield url, tracked, None
        return
    folder = tempfile.mkdtemp(prefix="orch-bench-live-")
    pg = EmbeddedPostgres(folder, server_options={"track_commit_timestamp": "on",
                                                   "max_connections": "200"})
    await pg.start()
    try:
        await migrate(pg.dsn)
        yield pg.dsn, True, str(pg.pgdata)
    finally:
        await pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def gateway_process(dsn: str) -> AsyncIterator[tuple[str, int]]:
    env = {**os.environ, "ORCH_DATABASE_URL": dsn, "ORCH_LOG_LEVEL": "WARNING",
           "ORCH_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _MAIN, "gateway", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        m = _URL.search(line)
        if m is None:
            raise RuntimeError(f"the gateway did not start: {line!r}")
        yield m[1], proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class CpuMeter:
    """CPU seconds each process used during the run (postgres: its server and backends)."""

    def __init__(self, pids: dict[str, int], pgdata: str | None) -> None:
        self.pids = pids
        self.postmaster = None
        if pgdata is not None:
            for proc in psutil.process_iter(["cmdline"]):
                if pgdata in " ".join(proc.info["cmdline"] or ()):
                    self.postmaster = proc
                    break
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, pid in self.pids.items():
            t = psutil.Process(pid).cpu_times()
            out[name] = t.user + t.system
        if self.postmaster is not None:
            total = 0.0
            for proc in [self.postmaster, *self.postmaster.children()]:
                with contextlib.suppress(psutil.Error):
                    t = proc.cpu_times()
                    total += t.user + t.system
            out["postgres"] = total
        return out

    def start(self) -> None:
        self.before = self._now()

    def stop(self) -> dict[str, float]:
        after = self._now()
        return {k: round(after[k] - self.before.get(k, 0.0), 2) for k in after}


class Client:
    """One websocket subscribed to everything; keeps (seq, arrival) of what it receives."""

    def __init__(self) -> None:
        self.seqs = array("q")
        self.arrivals = array("d")
        """Per frame: when it arrived, and how many events it carried (``sizes``)."""
        self.sizes = array("q")
        self.frames = 0
        self.first = 0.0
        self.last = 0.0
        self.last_seq = 0
        self.subscribed = asyncio.Event()
        self.done = asyncio.Event()
        self.until = 1 << 62
        self.light = False
        """Read frames without decoding them (``--decode``): no delays, no exactly-once check."""

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        async with http.ws_connect(f"{url}/api/v1/live", max_msg_size=0, decode_text=False,
                                   headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
            await ws.send_str('{"subscribe": {"all": true}}')
            async for msg in ws:
                now = time.time()
                if self.light and self.frames:  # only where the stream has got to
                    data = msg.data
                    at = data.rfind(b'"seq":')
                    self.frames += 1
                    self.last = now
                    self.last_seq = int(data[at + 6:data.find(b",", at)])
                    if self.last_seq >= self.until:
                        self.done.set()
                        return
                    continue
                frame = _decode(msg.data)
                if frame.type == "subscribed":
                    self.subscribed.set()
                    continue
                if frame.type != "events":
                    raise RuntimeError(f"unexpected frame: {msg.data[:200]}")
                if not self.frames:
                    self.first = now
                self.frames += 1
                self.last = now
                self.seqs.extend([e.seq for e in frame.events])
                self.arrivals.append(now)
                self.sizes.append(len(frame.events))
                self.last_seq = frame.events[-1].seq
                if self.last_seq >= self.until:
                    self.done.set()
                    return


def _per_event(arrivals: array, sizes: array) -> Iterator[float]:
    for arrival, n in zip(arrivals, sizes, strict=True):
        for _ in range(n):
            yield arrival


async def main(clients: int, instances: int, decode: int | None = None) -> dict[str, object]:
    async with database() as (dsn, tracked, pgdata):
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            async with pool.acquire() as conn:
                await bootstrap_admin(conn, None, token=TOKEN, password="bench")
            runbook = await check_in(pool, DOC)
            async with server_process(dsn, f"bench-live-{uuid.uuid4().hex[:6]}") as server, \
                    gateway_process(dsn) as (url, gateway_pid), aiohttp.ClientSession() as http:
                cpu = CpuMeter({"bench": os.getpid(), "gateway": gateway_pid,
                                "server": server.pid}, pgdata)
                watchers = [Client() for _ in range(clients)]
                for w in watchers[decode if decode is not None else clients:]:
                    w.light = True
                async with asyncio.TaskGroup() as tg:
                    tasks = [tg.create_task(c.run(http, url), name=f"client-{i}")
                             for i, c in enumerate(watchers)]
                    for c in watchers:
                        await asyncio.wait_for(c.subscribed.wait(), 60)
                    async with pool.acquire() as conn:
                        start = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events")
                        cpu.start()
                        async with conn.transaction():  # all visible at once
                            for _ in range(instances):
                                await create_job(conn, runbook=runbook, parameters={},
                                                 created_by=None)
                        while await conn.fetchval(
                            "SELECT count(*) FROM jobs WHERE runbook_id = $1 AND status NOT IN"
                            " ('queued', 'running')", uuid.UUID(runbook.id)) < instances:
                            await asyncio.sleep(0.05)
                        rows = await conn.fetch(
                            "SELECT seq, extract(epoch FROM CASE WHEN $2"
                            " THEN pg_xact_commit_timestamp(xmin) ELSE at END)::float8 AS t"
                            " FROM events WHERE seq > $1"
                            " AND kind IN ('job', 'instance', 'activity') ORDER BY seq",
                            start, tracked)
                    end = rows[-1]["seq"]
                    for c in watchers:
                        c.until = end
                        if c.last_seq >= end:
                            c.done.set()
                    for c in watchers:
                        await asyncio.wait_for(c.done.wait(), 120)
                    for task in tasks:  # the ones that had it all before ``until`` was known
                        task.cancel()
                    used = cpu.stop()
        finally:
            await pool.close()
    measured = [c for c in watchers if not c.light]
    expected = array("q", (r["seq"] for r in rows))
    committed = {r["seq"]: r["t"] for r in rows}
    for i, c in enumerate(measured):
        got = array("q", (s for s in c.seqs if s > start))
        if got != expected:
            raise AssertionError(f"client {i} did not get every event exactly once, in order")
    delays = sorted(
        (arrival - committed[seq]) * 1000
        for c in measured
        for seq, arrival in zip(c.seqs, _per_event(c.arrivals, c.sizes), strict=True)
        if seq in committed
    )
    span = max(c.last for c in watchers) - min(c.first for c in watchers)
    frames = sum(c.frames for c in watchers)
    events = len(expected) * len(watchers)  # every client got all (checked, or reached the end)
    return {
        "workload": "live",
        "clients": clients,
        "decoding_clients": len(measured),
        "instances": instances,
        "events_per_client": len(expected),
        "delay_from": "commit" if tracked else "insert",
        "delay_p50_ms": round(percentile(delays, 50), 2),
        "delay_p99_ms": round(percentile(delays, 99), 2),
        "delay_max_ms": round(delays[-1], 2),
        "frames_per_s": round(frames / span),
        "events_per_s": round(events / span),
        "events_per_frame": round(events / frames, 1),
        "span_s": round(span, 3),
        "cpu_s": used,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--decode", type=int, default=None,
                        help="Clients that decode every event (default: all); the others only "
                             "read frames, to show what the clients' own decoding costs.")
    args = parser.parse_args()
    try:  # the clients' side on the loop the gateway itself uses
        import uvloop

        result = uvloop.run(main(args.clients, args.instances, args.decode))
    except ImportError:
        result = asyncio.run(main(args.clients, args.instances, args.decode))
    print(json.dumps(result))
