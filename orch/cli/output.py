"""What every verb shares: ``--json``, human-readable text, and one-line errors.

A user's mistake (a bad file, an unknown runbook, no gateway, a bad token)
is one line on stderr and exit status 1 — never a traceback. Tracebacks are
kept for bugs, which is what they are for.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, NoReturn, ParamSpec, TypeVar

import asyncpg
import click
import msgspec

from orch.errors import OrchError

P = ParamSpec("P")
T = TypeVar("T")

STATUS_COLOURS = {
    "success": "green",
    "warning": "yellow",
    "failed": "red",
    "stopped": "magenta",
    "interrupted": "red",
    "running": "cyan",
    "queued": "blue",
}
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ClientConfigurationError,
)
"""Reaching the database failed: a wrong URL or credentials, not a bug."""
COMMON_FIELDS = frozenset({"Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName"})


def json_option(fn: Callable[P, T]) -> Callable[P, T]:
    """Add ``--json``: print the API's JSON shapes instead of text."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (the API's shapes) instead of text."
    )(fn)


def print_json(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 1."""
    click.echo(f"orch: error: {message}", err=True)
    sys.exit(1)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def handle_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """Turn orch errors and OS errors into :func:`fail`; Ctrl-C into a quiet exit 130."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except (OrchError, OSError) as e:
            fail(_describe(e))
        except DATABASE_ERRORS as e:
            fail(f"database: {_describe(e)}")
        except BaseExceptionGroup as group:
            # A task group failing because of a user-facing error: report that one.
            leaf = _first_leaf(group)
            if isinstance(leaf, (OrchError, OSError)):
                fail(_describe(leaf))
            if isinstance(leaf, DATABASE_ERRORS):
                fail(f"database: {_describe(leaf)}")
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a verb's coroutine to completion (on uvloop where it is installed)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def status_text(status: str) -> str:
    return click.style(status, fg=STATUS_COLOURS.get(status), bold=status == "failed")


def fields_text(item: Mapping[str, str], *, skip_common: bool = True) -> str:
    """``Name=World, Count=3`` (common fields left out unless asked)."""
    return ", ".join(
        f"{k}={v}" for k, v in item.items() if not (skip_common and k in COMMON_FIELDS)
    )
