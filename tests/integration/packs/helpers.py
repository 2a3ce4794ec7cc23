"""Helpers for the pack, state and monitor integration tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from activities import ACTIVITIES
from orch.db.catalog import check_in_new
from orch.db.jobs import RunbookRow, resolve_runbook
from orch.document.validate import load
from orch.sdk import Registry
from orch.server import RunbookServer
from tests.integration.helpers import fast_settings


def core_registry() -> Registry:
    reg = Registry()
    reg.add_pack("core", ACTIVITIES)
    return reg


@contextlib.asynccontextmanager
async def server(
    pool_or_dsn: asyncpg.Pool | str, name: str, registry: Registry | None = None, **kw: Any
) -> AsyncIterator[RunbookServer]:
    """An in-process runbook server with the given registry, handed over on exit."""
    srv = RunbookServer(fast_settings(server_name=name, **kw), pool_or_dsn, name=name,
                        registry=registry or core_registry())  # fmt: skip
    async with srv.serving():
        yield srv


async def check_in_with(
    conn: asyncpg.Connection, doc: dict[str, Any], registry: Registry
) -> RunbookRow:
    result = await check_in_new(conn, load(doc, registry))
    row = await resolve_runbook(conn, result.id)
    assert row is not None
    return row


async def fetchval(pool: asyncpg.Pool, sql: str, *args: Any) -> Any:
    async with pool.acquire() as conn:
        return await conn.fetchval(sql, *args)


def as_uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)
