"""query_database against SQLite files (PostgreSQL is in tests/integration/activities)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from activities._paths import ROOT_ENV
from activities.database import query_database
from orch.sdk import Context, InstanceInfo, convert_inputs
from orch.sdk.testing import run_activity


@pytest.fixture(autouse=True)
def _no_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ROOT_ENV, raising=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT, weight REAL, raw BLOB)")
    conn.executemany(
        "INSERT INTO hosts VALUES (?, ?, ?, ?)",
        [(1, "web01", 1.5, b"\x00\xff"), (2, "web02", None, None), (3, "db01", 2.0, None)],
    )
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"  # four slashes: path is absolute


async def test_rows_are_items_with_row_count(db: str) -> None:
    r = await run_activity(
        query_database,
        {
            "connection": db,
            "query": "SELECT id, name, weight, raw FROM hosts WHERE name LIKE ? ORDER BY id",
            "parameters": ["web%"],
        },
    )
    assert r.status == "success", r.error
    assert r.items == [
        {"id": "1", "name": "web01", "weight": "1.5", "raw": "\\x00ff", "RowCount": "2"},
        {"id": "2", "name": "web02", "weight": "", "raw": "", "RowCount": "2"},
    ]


async def test_text_parameters_compare_with_integer_columns(db: str) -> None:
    r = await run_activity(
        query_database,
        {"connection": db, "query": "SELECT name FROM hosts WHERE id = ?", "parameters": ["3"]},
    )
    assert r.items == [{"name": "db01", "RowCount": "1"}]


async def test_write_statement_publishes_affected_rows(db: str, tmp_path: Path) -> None:
    r = await run_activity(
        query_database,
        {
            "connection": db,
            "query": "UPDATE hosts SET weight = ? WHERE name LIKE ?",
            "parameters": [9, "web%"],
        },
    )
    assert (r.status, r.items) == ("success", [{"RowCount": "2"}])
    conn = sqlite3.connect(tmp_path / "t.db")
    assert conn.execute("SELECT count(*) FROM hosts WHERE weight = 9").fetchone() == (2,)
    conn.close()


async def test_no_rows_ends_the_path_or_publishes_one_empty_item(db: str) -> None:
    props = {"connection": db, "query": "SELECT id, name FROM hosts WHERE id > 100"}
    r = await run_activity(query_database, props)
    assert (r.status, r.items) == ("success", [])
    r = await run_activity(query_database, {**props, "publish_empty": True})
    assert r.items == [{"id": "", "name": "", "RowCount": "0"}]


async def test_max_rows_warns(db: str) -> None:
    r = await run_activity(
        query_database, {"connection": db, "query": "SELECT id FROM hosts", "max_rows": 2}
    )
    assert (r.status, r.error) == ("warning", "more than 2 rows: the rest were left out")
    assert [i["id"] for i in r.items] == ["1", "2"]


async def test_memory_database_and_four_slash_urls(tmp_path: Path, db: str) -> None:
    r = await run_activity(
        query_database, {"connection": "sqlite:///:memory:", "query": "SELECT 1 + 1 AS two"}
    )
    assert r.items == [{"two": "2", "RowCount": "1"}]
    r = await run_activity(
        query_database, {"connection": "sqlite://" + db[len("sqlite:///") :], "query": "SELECT 1"}
    )
    assert r.status == "success", r.error


@pytest.mark.parametrize(
    ("query", "params", "error"),
    [
        ("SELECT * FROM nope", [], "query failed: no such table: nope"),
        ("SELECT ?", [], "property parameters: Incorrect number of bindings supplied. "
                         "The current statement uses 1, and there are 0 supplied."),
        ("SELECT 1; SELECT 2", [], "property query: You can only execute one statement at a time."),
        ("SELECT id, id FROM hosts", [], "property query: two columns are named id; alias one"),
        ("SELECT 'x' AS Status", [],
         "property query: column Status clashes with a published field; alias it"),
    ],
)  # fmt: skip
async def test_query_failures(db: str, query: str, params: list[str], error: str) -> None:
    r = await run_activity(query_database, {"connection": db, "query": query, "parameters": params})
    assert (r.status, r.error) == ("failed", error)


async def test_connection_failures(tmp_path: Path) -> None:
    r = await run_activity(
        query_database, {"connection": f"sqlite:///{tmp_path}/none.db", "query": "SELECT 1"}
    )
    assert (r.status, r.error) == (
        "failed",
        f"property connection: cannot open {tmp_path}/none.db: unable to open database file",
    )
    assert not (tmp_path / "none.db").exists()  # never created by a typo
    r = await run_activity(query_database, {"connection": "mysql://h/db", "query": "SELECT 1"})
    assert (r.status, r.error) == (
        "failed",
        "property connection: expected a postgresql:// or sqlite:/// URL",
    )
    r = await run_activity(query_database, {"connection": "sqlite:///rel.db", "query": "x"})
    assert r.status == "failed"


async def test_allowed_root_applies_to_sqlite_files(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "root").mkdir()
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    r = await run_activity(query_database, {"connection": db, "query": "SELECT 1"})
    assert r.status == "failed"
    assert (r.error or "").startswith("property connection:")
    assert "outside the allowed root" in (r.error or "")


async def test_timeout_interrupts_a_long_statement(db: str) -> None:
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    started = time.monotonic()
    r = await run_activity(
        query_database, {"connection": db, "query": endless, "timeout_seconds": 0.3}
    )
    assert (r.status, r.error) == ("failed", "the statement did not finish within 0.3 s")
    assert time.monotonic() - started < 30


async def test_cancellation_interrupts_the_statement(db: str) -> None:
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    ctx = Context(InstanceInfo(), "q", "q", "run-1")
    inputs = convert_inputs(query_database, {"connection": db, "query": endless})
    task = asyncio.create_task(query_database.fn(ctx, inputs))
    await asyncio.sleep(0.2)  # let the statement start; cancellation must work at any point
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
