"""Run ids: unique across processes, increasing within one (index-friendly)."""

from __future__ import annotations

import os

from actors import instance
from tests.unit.runtime.helpers import Harness, act, link, runbook


async def test_run_ids_are_unique_and_increasing_within_a_process() -> None:
    doc = runbook([act("start", "echo"), act("b", "echo")], [link("start", "b")])
    h1, h2 = Harness(doc), Harness(doc)
    await h1.run()
    await h2.run()
    ids = [r.run_id for r in h1.runs() + h2.runs()]
    assert len(set(ids)) == 4 and ids == sorted(ids)
    assert len({i[:24] for i in ids}) == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child's ids must not repeat the parent's
        os.write(write, instance.InstanceActor._new_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child[:24] != ids[0][:24]
