"""Connecting: where the database is (URL or embedded) and a pool with our codecs.

jsonb travels in binary form and is (de)serialised with msgspec: values come
back as plain dicts/lists/strings, and the PostgreSQL store passes encoded
bytes straight through where it already has them (``Raw``).
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import msgspec

from orch.config import Settings
from orch.db.embedded import EmbeddedPostgres

__all__ = ["CONNECT_TIMEOUT", "connect", "create_pool", "init_connection", "keepalive",
           "resolve_dsn", "session_options"]

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _jsonb_encode(value: Any) -> bytes:
    if isinstance(value, msgspec.Raw):
        return b"\x01" + bytes(value)
    return b"\x01" + _encode(value)


def _jsonb_decode(data: bytes) -> Any:
    return _decode(data[1:])


def _json_encode(value: Any) -> bytes:
    return bytes(value) if isinstance(value, msgspec.Raw) else _encode(value)


KEEPALIVE = {"TCP_KEEPIDLE": 10, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 3,
             "TCP_USER_TIMEOUT": 30_000}
"""TCP settings of every session: a host that vanished without a reset (a failover
by a virtual IP, a cut network) is noticed within about 30 s instead of the
kernel's two hours — a listening session otherwise never learns it is deaf."""


def keepalive(conn: asyncpg.Connection) -> bool:
    """Turn TCP keepalives on for ``conn``'s socket (not for unix sockets); True if set."""
    transport = getattr(conn, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in KEEPALIVE.items():
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except OSError:
        return False
    return True


async def init_connection(conn: asyncpg.Connection) -> None:
    """Install the jsonb/json codecs and TCP keepalives (run on every new connection)."""
    keepalive(conn)
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_jsonb_encode, decoder=_jsonb_decode,
        format="binary",
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=_json_encode, decoder=_decode, format="binary",
    )


async def resolve_dsn(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The DSN to use and, for the embedded server, its handle (stop it when done).

    The handle's ``owner`` tells whether this process started the server;
    ``stop()`` is a no-op otherwise, so callers can always call it.
    """
    if settings.database_url:
        return settings.database_url, None
    pg = EmbeddedPostgres(settings.data_dir)
    await pg.start()
    return pg.dsn, pg


CONNECT_TIMEOUT = 10.0
"""Seconds for opening a session — for the whole host list of a multi-host URL
(asyncpg's ``timeout``): a host that does not answer at all costs this much."""


def session_options(dsn: str, kw: dict[str, Any]) -> dict[str, Any]:
    """``kw`` plus what orch needs of every session it opens.

    A writable session: orch writes on every connection, so unless the URL (or
    ``PGTARGETSESSIONATTRS``, or the caller) says otherwise a multi-host URL
    picks the host that is read-write — after a failover, the promoted
    standby. PostgreSQL 14+ reports the setting at start-up, so this costs no
    round trip. And a bounded connect (``CONNECT_TIMEOUT``), never a hang.
    """
    out = dict(kw)
    query = parse_qs(urlsplit(dsn).query) if "://" in dsn else {}
    if ("target_session_attrs" not in out and "target_session_attrs" not in query
            and not os.environ.get("PGTARGETSESSIONATTRS")):
        out["target_session_attrs"] = "read-write"
    out.setdefault("timeout", CONNECT_TIMEOUT)
    return out


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 4, **kw: Any) -> asyncpg.Pool:
    """A pool with our codecs; ``kw`` goes to ``asyncpg.create_pool``.

    ``dsn`` may name several hosts (``postgresql://u@h1:5432,h2:5432/orch``):
    every new session goes to whichever is writable (``session_options``),
    so the pool follows a failover as its broken connections are replaced.
    """
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init_connection,
        **session_options(dsn, kw),
    )
    assert pool is not None
    return pool


async def connect(dsn: str, **kw: Any) -> asyncpg.Connection:
    """One connection with our codecs (listeners, migrations, scripts); see ``create_pool``."""
    conn = await asyncpg.connect(dsn, **session_options(dsn, kw))
    await init_connection(conn)
    return conn
