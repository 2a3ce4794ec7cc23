"""Micro-benchmark of the actor runtime alone: activity runs per second.

Runs ``--instances`` instances of a ``--steps``-step ``compare_values`` chain
(each step reads the previous one's ``Result``) on the in-memory store,
``--concurrency`` instances at a time, and prints one JSON line. The budget is
≤ 50 µs of Python per activity run: ``us_per_activity`` is wall time,
``cpu_us_per_activity`` the process's CPU time (steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from typing import Any

from actors.instance import InstanceActor
from actors.memory import MemoryStore
from orch.document import load
from orch.sdk import default_registry
from orch.server.gctune import tune_gc


def chain(steps: int) -> dict[str, Any]:
    activities = [
        {
            "id": "s0",
            "type": "compare_values",
            "properties": {"value": "1", "op": "equals", "to": "1"},
        }
    ]
    links = []
    for i in range(1, steps):
        activities.append(
            {
                "id": f"s{i}",
                "type": "compare_values",
                "properties": {"value": f"{{s{i - 1}.Result}}", "op": "equals", "to": "true"},
            }
        )
        links.append({"from": f"s{i - 1}", "to": f"s{i}"})
    return {
        "format": "orch.runbook/1",
        "name": "bench chain",
        "folder": "/bench",
        "activities": activities,
        "links": links,
    }


async def main(
    instances: int, steps: int, concurrency: int, tuned_gc: bool = True
) -> dict[str, Any]:
    registry = default_registry()
    doc = chain(steps)
    compiled = load(doc, registry)  # compiled once per version, as the server caches it
    store = MemoryStore()
    plans = [store.add_job(doc, {}) for _ in range(instances)]
    sem = asyncio.Semaphore(concurrency)

    async def one(plan) -> None:
        async with sem:
            outcome = await InstanceActor(plan, store, registry=registry, compiled=compiled).run()
            assert outcome.status == "success", outcome

    if tuned_gc:
        tune_gc()  # as orch server and orch up do
    else:
        gc.collect()
    cpu_started = time.process_time()
    started = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for i, plan in enumerate(plans):
            tg.create_task(one(plan), name=f"bench/{i}")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    runs = sum(len(store.runs[p.ref.instance_id]) for p in plans)
    assert runs == instances * steps
    return {
        "workload": "runtime_chain",
        "activities_per_s": round(runs / elapsed),
        "us_per_activity": round(elapsed / runs * 1e6, 2),
        "cpu_us_per_activity": round(cpu / runs * 1e6, 2),
        "n": runs,
        "instances": instances,
        "steps": steps,
        "concurrency": concurrency,
        "gc": "tuned" if tuned_gc else "default",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--no-uvloop", action="store_true", help="use the default asyncio loop")
    parser.add_argument("--default-gc", action="store_true",
                        help="CPython's GC thresholds instead of the servers' (orch.server.gctune)")
    args = parser.parse_args()
    coro = main(args.instances, args.steps, args.concurrency, not args.default_gc)
    if args.no_uvloop:
        result = asyncio.run(coro)
    else:
        try:
            import uvloop
        except ImportError:
            result = asyncio.run(coro)
        else:
            result = uvloop.run(coro)
    print(json.dumps(result))
