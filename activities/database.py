"""``query_database``: one parameterised statement against PostgreSQL or SQLite.

Values never enter the SQL text: they travel as parameters (``$1``… for
PostgreSQL, ``?`` or ``:name`` for SQLite), so published data from upstream
cannot change what the statement does. Each result row is one item whose
fields are the columns; a statement without result columns (INSERT, UPDATE…)
publishes one item with the affected ``RowCount``.

PostgreSQL runs through asyncpg: a stop or a timeout cancels the statement on
the server and drops the connection. SQLite runs in a worker thread and is
interrupted the same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import sqlite3
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import asyncpg

from activities import _paths
from orch.sdk import COMMON_FIELDS, ActivityError, Context, Inputs, Secret, activity, to_text

DEFAULT_MAX_ROWS = 10_000
Param = str | int | float | bool | None


class QueryDatabaseInputs(Inputs):
    connection: str
    """``postgresql://user@host:port/db`` (any libpq-style URL) or ``sqlite:///absolute/path.db``."""
    query: str
    """One SQL statement; values go in ``parameters`` (``$1``… for PostgreSQL, ``?`` for SQLite)."""
    parameters: list[Param] = []
    """Values for the statement's placeholders, in order."""
    password: Secret = ""
    """PostgreSQL password, kept out of the connection URL (secret)."""
    timeout_seconds: float = 60
    """Time allowed to connect and to run the statement."""
    max_rows: int = DEFAULT_MAX_ROWS
    """Rows published at most; more end the run in warning."""
    publish_empty: bool = False
    """When a query returns no rows, publish one item with ``RowCount`` 0 and empty
    columns (the path goes on); otherwise no items are published (the path ends)."""


def _fields(properties: Any) -> frozenset[str] | None:
    # The columns are known only when the statement runs.
    return None


@activity(
    "query_database",
    display_name="Query Database",
    category="Utilities",
    rerunnable=False,
    dynamic_fields=_fields,
)
async def query_database(ctx: Context, inputs: QueryDatabaseInputs) -> list[dict[str, str]]:
    """Run a statement; publish one item per row (column fields plus ``RowCount``).

    ``RowCount`` is the number of rows returned, or for a statement without
    result columns the number of rows it changed (one item). A column named
    like a common published field (``Status``…) or ``RowCount``, or two
    columns with the same name, fail the run: alias them in the query.
    """
    if inputs.timeout_seconds <= 0:
        raise ActivityError("property timeout_seconds: must be greater than 0")
    if inputs.max_rows < 1:
        raise ActivityError("property max_rows: must be at least 1")
    scheme = urlsplit(inputs.connection).scheme.lower()
    if scheme in ("postgresql", "postgres"):
        columns, rows, affected = await _postgres(inputs)
    elif scheme == "sqlite":
        columns, rows, affected = await _sqlite(inputs)
    else:
        raise ActivityError("property connection: expected a postgresql:// or sqlite:/// URL")
    _check_columns(columns)
    if len(rows) > inputs.max_rows:
        rows = rows[: inputs.max_rows]
        ctx.warn(f"more than {inputs.max_rows} rows: the rest were left out")
    if not columns:
        return [{"RowCount": str(affected)}]
    if not rows:
        return [{**dict.fromkeys(columns, ""), "RowCount": "0"}] if inputs.publish_empty else []
    count = str(len(rows))
    return [
        {**dict(zip(columns, map(cell_text, row), strict=True)), "RowCount": count} for row in rows
    ]


def _check_columns(columns: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in columns:
        if name in COMMON_FIELDS or name == "RowCount":
            raise ActivityError(
                f"property query: column {name} clashes with a published field; alias it"
            )
        if name in seen:
            raise ActivityError(f"property query: two columns are named {name}; alias one")
        seen.add(name)


def cell_text(value: Any) -> str:
    """Published text of a column value (PostgreSQL's own text where ``to_text`` differs)."""
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dt.time | dt.timedelta):
        return value.isoformat() if isinstance(value, dt.time) else str(value)
    if isinstance(value, list | tuple):
        return to_text([_json_ready(v) for v in value])
    return to_text(value)


def _json_ready(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | Decimal):
        return value
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return cell_text(value)


# -- PostgreSQL ---------------------------------------------------------------

Result = tuple[list[str], list[Sequence[Any]], int]

_PG_CONVERT = {
    "int2": int,
    "int4": int,
    "int8": int,
    "oid": int,
    "float4": float,
    "float8": float,
    "numeric": Decimal,
    "bool": lambda v: _bool(v),  # defined below
    "uuid": uuid.UUID,
    "date": dt.date.fromisoformat,
    "timestamp": lambda v: _naive(dt.datetime.fromisoformat(v)),
    "timestamptz": lambda v: _aware(dt.datetime.fromisoformat(v)),
    "time": dt.time.fromisoformat,
}


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "t", "yes", "1", "on"):
        return True
    if low in ("false", "f", "no", "0", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _naive(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _pg_args(types: Sequence[Any], params: list[Param]) -> list[Any]:
    """Parameters, read from text as the type PostgreSQL inferred for each placeholder.

    Types without a conversion here go as text (asyncpg takes text for text,
    varchar, json…); cast in SQL for others (``$1::text::interval``).
    """
    if len(params) != len(types):
        raise ActivityError(
            f"property parameters: the statement has {len(types)} placeholder(s), "
            f"{len(params)} value(s) given"
        )
    out: list[Any] = []
    for n, (value, tp) in enumerate(zip(params, types, strict=True)):
        if value is None:
            out.append(None)
            continue
        text = value if isinstance(value, str) else to_text(value)
        convert = _PG_CONVERT.get(tp.name)
        if convert is None:
            out.append(text)
            continue
        try:
            out.append(convert(text.strip()))
        except (ValueError, ArithmeticError):
            raise ActivityError(
                f"property parameters[{n}]: {text!r} is not a valid {tp.name} (${n + 1})"
            ) from None
    return out


async def _postgres(inputs: QueryDatabaseInputs) -> Result:
    try:
        conn = await asyncpg.connect(
            inputs.connection,
            password=inputs.password or None,
            timeout=inputs.timeout_seconds,
            command_timeout=inputs.timeout_seconds,
        )
    except (OSError, TimeoutError) as exc:
        raise ActivityError(f"cannot connect to the database: {exc}") from None
    except asyncpg.PostgresError as exc:
        raise ActivityError(f"cannot connect to the database: {exc}") from None
    except (ValueError, asyncpg.InterfaceError) as exc:
        raise ActivityError(f"property connection: {exc}") from None
    try:
        result = await _pg_run(conn, inputs)
    except BaseException:
        conn.terminate()  # a stop or a failure: drop at once, the server rolls back
        raise
    await conn.close()
    return result


async def _pg_run(conn: asyncpg.Connection, inputs: QueryDatabaseInputs) -> Result:
    try:
        stmt = await conn.prepare(inputs.query)
        args = _pg_args(stmt.get_parameters(), inputs.parameters)
        columns = [a.name for a in stmt.get_attributes()]
        if not columns:
            await stmt.fetch(*args)
            return [], [], _affected(stmt.get_statusmsg())
        rows: list[Sequence[Any]] = []
        async with conn.transaction():
            async for record in stmt.cursor(*args, prefetch=min(inputs.max_rows + 1, 1000)):
                rows.append(tuple(record.values()))
                if len(rows) > inputs.max_rows:
                    break
        return columns, rows, len(rows)
    except TimeoutError:
        raise ActivityError(
            f"the statement did not finish within {inputs.timeout_seconds:g} s"
        ) from None
    except asyncpg.PostgresError as exc:
        raise ActivityError(f"query failed: {_pg_message(exc)}") from None
    except asyncpg.DataError as exc:  # a parameter asyncpg cannot encode
        raise ActivityError(f"property parameters: {exc}") from None
    except asyncpg.InterfaceError as exc:
        raise ActivityError(f"query failed: {exc}") from None


def _pg_message(exc: asyncpg.PostgresError) -> str:
    text = f"{exc.sqlstate}: {exc}" if getattr(exc, "sqlstate", None) else str(exc)
    detail = getattr(exc, "detail", None)
    return f"{text} ({detail})" if detail else text


def _affected(status: str | None) -> int:
    """Rows changed, from a command tag like ``UPDATE 3`` or ``INSERT 0 2``."""
    if not status:
        return 0
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


# -- SQLite -------------------------------------------------------------------


def _sqlite_path(connection: str) -> str:
    parts = urlsplit(connection)
    if parts.netloc not in ("", "localhost"):
        raise ActivityError("property connection: a sqlite URL names a local file (sqlite:///path)")
    path = unquote(parts.path)
    if path.startswith("//"):  # sqlite:////abs/path, as SQLAlchemy writes it
        path = "/" + path.lstrip("/")
    if path == "/:memory:":
        return ":memory:"
    return str(_paths.resolve(path, "connection"))


async def _sqlite(inputs: QueryDatabaseInputs) -> Result:
    path = await asyncio.to_thread(_sqlite_path, inputs.connection)
    params: list[Any] = [int(p) if isinstance(p, bool) else p for p in inputs.parameters]
    conn = await asyncio.to_thread(_sqlite_open, path, inputs.timeout_seconds)
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(None, _sqlite_run, conn, inputs.query, params, inputs.max_rows)
    try:
        timer = loop.call_later(inputs.timeout_seconds, conn.interrupt)
        try:
            return await asyncio.shield(work)
        finally:
            timer.cancel()
    except asyncio.CancelledError:
        conn.interrupt()  # stop the statement, then let the thread finish before closing
        await asyncio.gather(work, return_exceptions=True)
        raise
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise ActivityError(
                f"the statement did not finish within {inputs.timeout_seconds:g} s"
            ) from None
        raise ActivityError(f"query failed: {exc}") from None
    except sqlite3.ProgrammingError as exc:
        prop = "parameters" if "binding" in str(exc) else "query"
        raise ActivityError(f"property {prop}: {exc}") from None
    except sqlite3.Error as exc:
        raise ActivityError(f"query failed: {exc}") from None
    finally:
        await asyncio.to_thread(conn.close)


def _sqlite_open(path: str, timeout: float) -> sqlite3.Connection:
    uri = path != ":memory:"
    target = f"file:{quote(path)}?mode=rw" if uri else path
    try:
        return sqlite3.connect(target, timeout=timeout, uri=uri, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ActivityError(f"property connection: cannot open {path}: {exc}") from None


def _sqlite_run(conn: sqlite3.Connection, query: str, params: list[Any], max_rows: int) -> Result:
    cur = conn.execute(query, params)
    try:
        if cur.description is None:
            conn.commit()
            return [], [], max(cur.rowcount, 0)
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(max_rows + 1)
        conn.commit()
        return columns, rows, len(rows)
    finally:
        cur.close()
