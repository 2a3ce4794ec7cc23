"""Capability matching: a server claims a job only if it has every activity type it uses."""

from __future__ import annotations

import uuid

import asyncpg

from activities import ACTIVITIES
from orch.db.connect import create_pool
from orch.db.packs import list_packs, pack_records, register_pack
from orch.sdk import Context, Inputs, Published, Registry, activity
from tests.integration.helpers import eventually, runbook_doc, start, start_job, wait_job
from tests.integration.packs.helpers import check_in_with, server


class PingInputs(Inputs):
    text: str = "ping"
    """What to echo."""


class Pong(Published):
    Echo: str
    """The text, echoed."""


@activity("ping", category="Extra", rerunnable=True)
async def ping(ctx: Context, inputs: PingInputs) -> Pong:
    """Echo the text back."""
    return Pong(Echo=inputs.text)


def registry(with_extra: bool) -> Registry:
    reg = Registry()
    reg.add_pack("core", ACTIVITIES)
    if with_extra:
        reg.add_pack("extra", [ping])
        reg.versions["extra"] = ("orch-extra", "1.2.0")
    return reg


DOC = runbook_doc("UsesExtra", [start(), {"id": "p", "type": "extra:ping",
                                          "properties": {"text": "hi"}}])  # fmt: skip


async def test_only_a_server_with_the_pack_runs_the_job(dsn: str) -> None:
    # two servers share this pool at once: room for both (orch.server.pool_need each)
    pool = await create_pool(dsn, min_size=1, max_size=8)
    try:
        await _only_a_server_with_the_pack_runs_the_job(pool)
    finally:
        await pool.close()


async def _only_a_server_with_the_pack_runs_the_job(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, DOC, registry(True))
        stored = await conn.fetchval(
            "SELECT activity_types FROM runbook_versions WHERE runbook_id = $1", uuid.UUID(rb.id)
        )
    assert stored == ["core:initialize_data", "extra:ping"]

    async with server(pool, "plain", registry(False)):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb, registry=registry(True))

        async def reason() -> str | None:
            async with pool.acquire() as conn:
                return await conn.fetchval(
                    "SELECT waiting_reason FROM jobs WHERE id = $1 AND status = 'queued'",
                    uuid.UUID(job.id),
                )

        text = await eventually(reason)
        assert text == "no available runbook server has pack extra (activity types extra:ping)"
        async with server(pool, "rich", registry(True)):
            done = await wait_job(pool, job.id)
        assert (done.status, done.server) == ("success", "rich")

        # a core-only runbook still runs on the plain server
        async with pool.acquire() as conn:
            core_rb = await check_in_with(conn, runbook_doc("CoreOnly", [start()]),
                                          registry(False))  # fmt: skip
            core_job = await start_job(conn, core_rb)
        assert (await wait_job(pool, core_job.id)).server == "plain"

    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT packs, pack_versions, activity_types FROM servers WHERE name = 'rich'"
        )
        assert row["pack_versions"] == {"extra": "1.2.0"}
        assert "extra" in row["packs"] and "extra:ping" in row["activity_types"]
        for record in pack_records(registry(True), ["extra"]):
            await register_pack(conn, record, registered_by="test")
        packs = {(p.name, p.version): p for p in await list_packs(conn)}
        types = await conn.fetchrow(
            "SELECT input_schema, output_schema FROM pack_activity_types WHERE pack = 'extra'"
        )
    extra = packs[("extra", "1.2.0")]
    assert extra.registered and extra.types == ["ping"] and extra.servers == ["rich"]
    assert extra.servers_up == []  # rich has stopped
    assert extra.distribution == "orch-extra"
    assert types["input_schema"]["properties"]["text"] == {
        "type": "string", "default": "ping", "description": "What to echo."
    }
    assert types["output_schema"]["properties"]["Echo"]["description"] == "The text, echoed."
