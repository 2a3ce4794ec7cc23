"""live: 100 websocket clients subscribed to `all` while 1,000 chain10 instances run.

A runbook server, a gateway and the clients each run in their own process
(``orch server``, ``orch gateway``, ``live.py --client-process``); this
process commits the jobs and checks. The delay is measured BY THE GATEWAY
(``orch_live_delivery_seconds{from="commit"}`` on its ``/metrics``, scraped
before and after the run): from an event's commit — its
``pg_xact_commit_timestamp``, so the embedded PostgreSQL runs with
``track_commit_timestamp=on`` — to the moment the frame carrying it was
written to the last of the sockets (every socket). The clients speak the
websocket by hand and offer permessage-deflate as Chromium does (the gateway
then compresses each shared frame once; ``--no-compress``: no offer, plain
frames as before). They only count: per frame the first and last seq, from
the raw bytes (a compressed frame: its first ~100 bytes inflated, and the
whole of it only for the newest frame once the run is over); ``--verify`` of
them also keep their frames, inflated and decoded after the run.
Every client must reach the run's last event with its frames in seq order,
and the verified ones must have exactly the table's seqs, once, in order;
the gateway's histogram must have observed every event of the run (each
once, when the last socket that queued it wrote it). Prints
one JSON line: p50/p99 delay (from the histogram's buckets; one bound is
exactly 100 ms), the share within 100 ms, p50/p99 of the gateway's own part
(``orch_live_fanout_seconds``: from the batch's publication to the last
socket's write), frames and events per second (all
clients), and the CPU seconds of each process during the run.

    python bench/live.py [--clients 100] [--instances 1000] [--verify 5] [--no-compress]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from array import array
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import msgspec
import psutil
from _common import check_in, create_pool, server_process
from chain10 import DOC

from orch.db.bootstrap import bootstrap_admin
from orch.db.connect import connect
from orch.db.embedded import EmbeddedPostgres
from orch.db.jobs import create_job
from orch.db.migrate import migrate

TOKEN = os.environ.get("ORCH_BENCH_TOKEN") or f"orch_bench-{uuid.uuid4().hex}"  # clients: parent's
_MAIN = "from orch.cli.main import main; main()"
_URL = re.compile(r"gateway on (http://\S+)/api/v1")


class _Event(msgspec.Struct):
    seq: int


class _Frame(msgspec.Struct):
    type: str
    events: list[_Event] = []


_decode = msgspec.json.Decoder(_Frame).decode
_U16 = struct.Struct("!H").unpack_from
_U64 = struct.Struct("!Q").unpack_from
_BUCKET = re.compile(r'^orch_live_(delivery|fanout)_seconds_bucket\{from="(?:commit|publish)",'
                     r'le="([^"]+)"\} (\S+)$')


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


class Client(asyncio.Protocol):
    """One websocket subscribed to everything, in the clients' process: it only counts.

    Spoken by hand on the transport (RFC 6455; permessage-deflate offered as
    Chromium does, unless ``--no-compress``), so a compressed frame's bytes
    stay as they came. Per frame it keeps the first seq (a compressed frame:
    only its first ~100 bytes inflated) and the last seq (a ``rfind`` in a
    plain frame; a compressed one is inflated whole only when it is the
    newest once the run is over), never decoding JSON. ``keep`` clients also
    keep the frames, inflated (each with a fresh context: the server takes
    none over) and decoded after the run to check that every event arrived
    exactly once, in order.
    """

    def __init__(self, url: str, keep: bool, compress: bool) -> None:
        self.url = url
        self.firsts = array("q")
        self.lasts = array("q")
        """-1: a compressed frame's last seq, not looked at."""
        self.keep = keep
        self.compress = compress
        self.raw: list[tuple[bool, bytes]] = []
        self.newest: bytes | None = None
        """The newest frame when compressed and its last seq not known yet."""
        self.subscribed = asyncio.Event()
        self.closed = asyncio.Event()
        self.start = 1 << 62
        """Frames at or below this seq (before the run) are not counted."""
        self.wire = 0
        """Payload bytes of the run's frames, as they came."""
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.error: BaseException | None = None

    # -- the protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        u = urlsplit(self.url)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /api/v1/live HTTP/1.1", f"Host: {u.netloc}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13", f"Authorization: Bearer {TOKEN}"]
        if self.compress:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self.subscribed.set()
        self.closed.set()
        if self.transport is not None:
            self.transport.close()

    def _send(self, opcode: int, data: bytes) -> None:
        """A masked frame (client → server), small: subscribe, pong."""
        assert self.transport is not None and len(data) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(data))) + mask + masked)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode().lower()
            del buf[:end + 4]
            if not head.startswith("http/1.1 101"):
                self._fail(RuntimeError(f"no upgrade: {head[:200]!r}"))
                return
            ext = re.search(r"^sec-websocket-extensions:(.*)$", head, re.M)
            if self.compress != bool(ext and "server_no_context_takeover" in ext[1]):
                self._fail(RuntimeError(f"unexpected negotiation: {head!r}"))
                return
            self.upgraded = True
            self._send(0x1, b'{"subscribe": {"all": true}}')
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, at = b1 & 0x7F, pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                (n,) = _U16(buf, at)
                at += 2
            elif n == 127:
                if size - pos < 10:
                    break
                (n,) = _U64(buf, at)
                at += 8
            if size - at < n:
                break
            payload = bytes(buf[at:at + n])
            pos = at + n
            opcode = b0 & 0x0F
            if opcode == 0x1:
                try:
                    self.message(payload, bool(b0 & 0x40))
                except Exception as e:  # reported by the process
                    self._fail(e)
                    return
            elif opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                assert self.transport is not None
                self.transport.close()
        del buf[:pos]

    # -- counting --------------------------------------------------------------------
    def message(self, payload: bytes, compressed: bool) -> None:
        if not self.subscribed.is_set():
            data = _inflate(payload) if compressed else payload
            if b'"subscribed"' not in data:
                raise RuntimeError(f"unexpected frame: {data[:200]!r}")
            self.subscribed.set()
            return
        if compressed:
            head = zlib.decompressobj(-15).decompress(payload, 128)
            self.newest = payload
            last_seq = -1
        else:
            head = payload
            last = payload.rfind(b'"seq":') + 6
            last_seq = int(payload[last:payload.find(b",", last)])
            self.newest = None
        if not head.startswith(b'{"type":"events"'):
            raise RuntimeError(f"unexpected frame: {head[:200]!r}")
        first = head.find(b'"seq":') + 6
        first_seq = int(head[first:head.find(b",", first)])
        self.firsts.append(first_seq)
        self.lasts.append(last_seq)
        if first_seq > self.start:
            self.wire += len(payload)
            if self.keep:
                self.raw.append((compressed, payload))

    def last(self) -> int:
        """The last seq so far (a compressed newest frame: inflated now, once)."""
        if self.newest is not None:
            data = _inflate(self.newest)
            at = data.rfind(b'"seq":') + 6
            self.lasts[-1] = int(data[at:data.find(b",", at)])
            self.newest = None
        return self.lasts[-1] if self.lasts else 0

    def report(self) -> dict[str, object]:
        """Events after the start, whether frames came in seq order, and (``keep``) the seqs."""
        f, la = self.firsts, self.lasts
        ordered = all(la[k] < 0 or f[k] <= la[k] for k in range(len(f))) and all(
            f[k] > max(la[k - 1], f[k - 1]) for k in range(1, len(f)))
        out: dict[str, object] = {
            "frames": sum(1 for k in range(len(f)) if max(f[k], la[k]) > self.start),
            "last": self.last(), "ordered": ordered, "wire_bytes": self.wire}
        if self.keep:
            out["seqs"] = [e.seq for compressed, data in self.raw
                           for e in _decode(_inflate(data) if compressed else data).events
                           if e.seq > self.start]
        return out


def _inflate(payload: bytes) -> bytes:
    """A message compressed without context takeover: a fresh decompressor each."""
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


async def clients_process(url: str, n: int, keep: int, compress: bool) -> None:
    """``--client-process``: N clients; "ready" once subscribed; then reads the run's
    first seq (exclusive) and, once the run is over, its last seq on stdin; waits until
    every client has the last one, prints one JSON report."""
    loop = asyncio.get_running_loop()
    u = urlsplit(url)
    clients = [Client(url, keep=i < keep, compress=compress) for i in range(n)]
    for c in clients:
        await loop.create_connection(lambda c=c: c, u.hostname, u.port)
    try:
        for c in clients:
            await asyncio.wait_for(c.subscribed.wait(), 60)
            if c.error is not None:
                raise c.error
        print("ready", flush=True)
        start = int(await loop.run_in_executor(None, sys.stdin.readline))
        for c in clients:
            c.start = start
        print("started", flush=True)
        end = int(await loop.run_in_executor(None, sys.stdin.readline))
        deadline = time.monotonic() + 120
        while any(c.last() < end for c in clients):
            failed = next((c.error for c in clients if c.error is not None), None)
            if failed is not None:
                raise failed
            if time.monotonic() > deadline:
                raise TimeoutError("the clients did not get every event in time")
            await asyncio.sleep(0.01)
    finally:
        for c in clients:
            if c.transport is not None:
                c.transport.close()
    print(json.dumps([c.report() for c in clients]), flush=True)


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[str, dict[str, float]]:
    """The gateway's histograms, cumulative count per bound: ``delivery``
    (``from="commit"``) and ``fanout`` (its own part, from the batch's publication)."""
    async with http.get(f"{url.removesuffix('/api/v1')}/metrics",
                        headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        text = await resp.text()
    out: dict[str, dict[str, float]] = {"delivery": {}, "fanout": {}}
    for line in text.splitlines():
        m = _BUCKET.match(line)
        if m is not None:
            out[m[1]][m[2]] = float(m[3])
    return out


def buckets_of(before: dict[str, float], after: dict[str, float]) -> list[tuple[float, float]]:
    """(upper bound, count in the bucket) of the run: the difference of two scrapes."""
    out, prev = [], 0.0
    for b in sorted(after, key=float):
        c = after[b] - before.get(b, 0.0)
        out.append((float(b), c - prev))
        prev = c
    return out


def quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """histogram_quantile over (upper bound, count in the bucket), linear within a bucket."""
    total = sum(n for _, n in buckets)
    if not total:
        return float("nan")
    rank, seen, lower = q * total, 0.0, 0.0
    for upper, n in buckets:
        if seen + n >= rank and n:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - seen) / n
        seen += n
        lower = upper
    return lower


def top_self(path: str, n: int = 12) -> dict[str, float]:
    """The ``n`` functions with the most self time (% of samples) in py-spy's raw output."""
    counts: dict[str, int] = {}
    total = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            stack, _, k = line.rpartition(" ")
            if not k.strip().isdigit():
                continue
            leaf = stack.rsplit(";", 1)[-1]
            name, _, where = leaf.partition(" (")
            leaf = f"{name} ({where.rsplit('/', 1)[-1].split(':', 1)[0]})"
            counts[leaf] = counts.get(leaf, 0) + int(k)
            total += int(k)
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
    return {k: round(100 * v / total, 1) for k, v in top} if total else {}


async def main(clients: int, instances: int, verify: int, profile: str | None = None,
               compress: bool = True) -> dict[str, object]:
    async with database() as (dsn, tracked, pgdata):
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            async with pool.acquire() as conn:
                await bootstrap_admin(conn, None, token=TOKEN, password="bench")
            runbook = await check_in(pool, DOC)
            async with server_process(dsn, f"bench-live-{uuid.uuid4().hex[:6]}") as server, \
                    gateway_process(dsn) as (url, gateway_pid), aiohttp.ClientSession() as http:
                watchers = subprocess.Popen(
                    [sys.executable, __file__, "--client-process", url, "--clients",
                     str(clients), "--verify", str(verify),
                     *(() if compress else ("--no-compress",))],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                    env={**os.environ, "ORCH_BENCH_TOKEN": TOKEN})
                try:
                    assert watchers.stdin is not None and watchers.stdout is not None
                    ready = await asyncio.to_thread(watchers.stdout.readline)
                    if ready.strip() != "ready":
                        raise RuntimeError(f"the clients did not start: {ready!r}")
                    cpu = CpuMeter({"clients": watchers.pid, "gateway": gateway_pid,
                                    "server": server.pid}, pgdata)
                    before = await scrape(http, url)
                    spies = []
                    if profile is not None:  # py-spy on the gateway and the clients
                        os.makedirs(profile, exist_ok=True)
                        spies = [subprocess.Popen(
                            ["py-spy", "record", "--pid", str(pid), "--format", "raw",
                             "--rate", "250", "--nonblocking", "--output",
                             os.path.join(profile, f"{name}.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                            for name, pid in (("gateway", gateway_pid),
                                              ("clients", watchers.pid))]
                        await asyncio.sleep(1.0)
                    async with pool.acquire() as conn:
                        start = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events")
                        watchers.stdin.write(f"{start}\n")
                        watchers.stdin.flush()
                        started = await asyncio.to_thread(watchers.stdout.readline)
                        assert started.strip() == "started", started
                        cpu.start()
                        began = time.time()
                        async with conn.transaction():  # all visible at once
                            for _ in range(instances):
                                await create_job(conn, runbook=runbook, parameters={},
                                                 created_by=None)
                        while await conn.fetchval(
                            "SELECT count(*) FROM jobs WHERE runbook_id = $1 AND status NOT IN"
                            " ('queued', 'running')", uuid.UUID(runbook.id)) < instances:
                            await asyncio.sleep(0.05)
                        rows = await conn.fetch(
                            "SELECT seq FROM events WHERE seq > $1"
                            " AND kind IN ('job', 'instance', 'activity') ORDER BY seq", start)
                    end = rows[-1]["seq"]
                    watchers.stdin.write(f"{end}\n")
                    watchers.stdin.flush()
                    out = await asyncio.to_thread(watchers.stdout.readline)
                    span = time.time() - began
                    used = cpu.stop()
                    for spy in spies:
                        spy.send_signal(signal.SIGINT)
                        spy.wait(60)
                    await asyncio.sleep(0.2)  # the last writes observed
                    after = await scrape(http, url)
                finally:
                    if watchers.poll() is None:
                        watchers.kill()
                    watchers.wait()
        finally:
            await pool.close()
    reports = json.loads(out)
    expected = [r["seq"] for r in rows]
    for i, r in enumerate(reports):
        if r["last"] < expected[-1] or not r["ordered"]:
            raise AssertionError(f"client {i}: frames in seq order {r['ordered']}, "
                                 f"up to {r['last']} of {expected[-1]}")
        if "seqs" in r and r["seqs"] != expected:
            raise AssertionError(f"client {i} did not get every event exactly once, in order")
    buckets = buckets_of(before["delivery"], after["delivery"])
    fanout = buckets_of(before["fanout"], after["fanout"])
    observed = sum(n for _, n in buckets)
    within = sum(n for b, n in buckets if b <= 0.1)
    if observed != len(expected):
        raise AssertionError(f"the gateway observed {observed} deliveries of {len(expected)}")
    frames = sum(r["frames"] for r in reports)
    events = len(expected) * len(reports)
    return {
        "workload": "live",
        "compress": compress,
        "clients": clients,
        "verified_clients": min(verify, clients),
        "instances": instances,
        "events_per_client": len(expected),
        "measured_by": "gateway (orch_live_delivery_seconds)",
        "delay_from": "commit" if tracked else "read",
        "observed_events": int(observed),
        "delay_p50_ms": round(quantile(buckets, 0.5) * 1000, 2),
        "delay_p99_ms": round(quantile(buckets, 0.99) * 1000, 2),
        "within_100ms_pct": round(100 * within / observed, 2) if observed else None,
        "fanout_p50_ms": round(quantile(fanout, 0.5) * 1000, 2),
        "fanout_p99_ms": round(quantile(fanout, 0.99) * 1000, 2),
        "frames_per_s": round(frames / span),
        "events_per_s": round(events / span),
        "events_per_frame": round(events / frames, 1),
        "wire_mb": round(sum(r["wire_bytes"] for r in reports) / 1e6, 1),
        "span_s": round(span, 3),
        "cpu_s": used,
        "load": [round(x, 2) for x in os.getloadavg()],
        **({"profile_self_pct": {name: top_self(os.path.join(profile, f"{name}.txt"))
                                 for name in ("gateway", "clients")}} if profile else {}),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--verify", type=int, default=5,
                        help="clients that also keep their frames, decoded after the run to "
                             "check every event once, in order (all clients count events and "
                             "check frame order)")
    parser.add_argument("--profile", metavar="DIR", default=None,
                        help="py-spy the gateway and the clients during the run (raw stacks "
                             "in DIR; the top self times in the JSON line)")
    parser.add_argument("--no-compress", dest="compress", action="store_false",
                        help="the clients offer no permessage-deflate (the gateway then "
                             "writes plain frames, as before)")
    parser.add_argument("--client-process", metavar="URL", default=None,
                        help=argparse.SUPPRESS)  # the clients' own process (see main)
    args = parser.parse_args()
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run  # type: ignore[assignment]
    if args.client_process:
        run(clients_process(args.client_process, args.clients, args.verify, args.compress))
    else:
        print(json.dumps(run(main(args.clients, args.instances, args.verify, args.profile,
                                  args.compress))))
