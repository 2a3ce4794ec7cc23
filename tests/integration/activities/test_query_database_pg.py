"""query_database against a real PostgreSQL (the test session's, a fresh database per test)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from activities.database import query_database
from orch.sdk import Context, InstanceInfo, convert_inputs
from orch.sdk.testing import run_activity


@pytest_asyncio.fixture(loop_scope="function")
async def db(dsn: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """
            CREATE TABLE act_hosts (
                id int PRIMARY KEY, name text NOT NULL, up boolean, ref uuid,
                seen timestamptz, cost numeric(8, 2), info jsonb, tags text[], raw bytea
            );
            INSERT INTO act_hosts VALUES
              (1, 'web01', true, '6f1c2f0e-9a4e-4c39-9d3b-2b8f1e0e0a01',
               '2024-05-01 10:00:00+00', 12.50, '{"dc": "eu"}', '{a,b}', '\\x00ff'),
              (2, 'web02', false, NULL, NULL, NULL, NULL, NULL, NULL),
              (3, 'db01', true, NULL, NULL, 3, NULL, '{}', NULL);
            """
        )
    finally:
        await conn.close()
    yield dsn


async def test_rows_with_typed_values(db: str) -> None:
    r = await run_activity(
        query_database,
        {"connection": db, "query": "SELECT * FROM act_hosts WHERE id = $1", "parameters": ["1"]},
    )
    assert r.status == "success", r.error
    assert r.items == [
        {
            "id": "1",
            "name": "web01",
            "up": "true",
            "ref": "6f1c2f0e-9a4e-4c39-9d3b-2b8f1e0e0a01",
            "seen": "2024-05-01T10:00:00Z",
            "cost": "12.50",
            "info": '{"dc": "eu"}',
            "tags": '["a","b"]',
            "raw": "\\x00ff",
            "RowCount": "1",
        }
    ]


async def test_text_parameters_take_the_placeholder_types(db: str) -> None:
    r = await run_activity(
        query_database,
        {
            "connection": db,
            "query": (
                "SELECT name FROM act_hosts WHERE up = $1 AND id >= $2 AND name LIKE $3 "
                "AND (seen IS NULL OR seen < $4) AND coalesce(cost, 0) < $5 ORDER BY id"
            ),
            "parameters": ["true", "1", "%0%", "2030-01-01T00:00:00Z", "100.5"],
        },
    )
    assert r.status == "success", r.error
    assert [i["name"] for i in r.items] == ["web01", "db01"]
    assert {i["RowCount"] for i in r.items} == {"2"}


async def test_writes_publish_affected_rows(db: str) -> None:
    r = await run_activity(
        query_database,
        {
            "connection": db,
            "query": "UPDATE act_hosts SET up = $1 WHERE name LIKE $2",
            "parameters": [False, "web%"],
        },
    )
    assert (r.status, r.items) == ("success", [{"RowCount": "2"}])
    r = await run_activity(
        query_database,
        {
            "connection": db,
            "query": "INSERT INTO act_hosts (id, name) VALUES ($1, $2) RETURNING id, name",
            "parameters": ["9", "new"],
        },
    )
    assert r.items == [{"id": "9", "name": "new", "RowCount": "1"}]
    r = await run_activity(
        query_database, {"connection": db, "query": "SELECT count(*) AS n FROM act_hosts"}
    )
    assert r.items == [{"n": "4", "RowCount": "1"}]


async def test_no_rows_and_max_rows(db: str) -> None:
    r = await run_activity(
        query_database, {"connection": db, "query": "SELECT id FROM act_hosts WHERE id < 0"}
    )
    assert (r.status, r.items) == ("success", [])
    r = await run_activity(
        query_database,
        {"connection": db, "query": "SELECT id FROM act_hosts WHERE id < 0", "publish_empty": True},
    )
    assert r.items == [{"id": "", "RowCount": "0"}]
    r = await run_activity(
        query_database,
        {"connection": db, "query": "SELECT g FROM generate_series(1, 5000) g", "max_rows": 3},
    )
    assert (r.status, r.error) == ("warning", "more than 3 rows: the rest were left out")
    assert [i["g"] for i in r.items] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("query", "params", "error"),
    [
        ("SELECT * FROM nope", [],
         'query failed: 42P01: relation "nope" does not exist'),
        ("SELECT * FROM act_hosts WHERE id = $1", ["abc"],
         "property parameters[0]: 'abc' is not a valid int4 ($1)"),
        ("SELECT * FROM act_hosts WHERE id = $1", [],
         "property parameters: the statement has 1 placeholder(s), 0 value(s) given"),
        ("SELECT id, id FROM act_hosts", [],
         "property query: two columns are named id; alias one"),
        ("SELECT 1 AS \"RowCount\"", [],
         "property query: column RowCount clashes with a published field; alias it"),
    ],
)  # fmt: skip
async def test_failures(db: str, query: str, params: list[str], error: str) -> None:
    r = await run_activity(query_database, {"connection": db, "query": query, "parameters": params})
    assert (r.status, r.error) == ("failed", error)


async def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = await run_activity(
        query_database,
        {"connection": f"postgresql://u@127.0.0.1:{port}/x", "query": "SELECT 1"},
    )
    assert r.status == "failed"
    assert (r.error or "").startswith("cannot connect to the database:")


async def test_own_timeout_cancels_the_statement(db: str) -> None:
    r = await run_activity(
        query_database,
        {"connection": db, "query": "SELECT pg_sleep(30)", "timeout_seconds": 0.5},
    )
    assert (r.status, r.error) == ("failed", "the statement did not finish within 0.5 s")


async def _sleepers(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE query = 'SELECT pg_sleep(60)' AND pid <> pg_backend_pid()"
    )


async def _until(check, want: bool) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if bool(await check()) == want:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def test_cancellation_ends_the_statement_on_the_server(db: str) -> None:
    watcher = await asyncpg.connect(db)
    try:
        ctx = Context(InstanceInfo(), "q", "q", "run-1")
        inputs = convert_inputs(query_database, {"connection": db, "query": "SELECT pg_sleep(60)"})
        task = asyncio.create_task(query_database.fn(ctx, inputs))
        await _until(lambda: _sleepers(watcher), True)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _until(lambda: _sleepers(watcher), False)
    finally:
        await watcher.close()
