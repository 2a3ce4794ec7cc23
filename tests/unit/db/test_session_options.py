"""Every session orch opens is writable unless told otherwise, with a bounded connect."""

from __future__ import annotations

import asyncpg
import pytest

from orch.db.connect import CONNECT_TIMEOUT, session_options
from orch.db.lost import LOST, RETRYABLE, is_lost

MULTI = "postgresql://orch@db1:5432,db2:5432/orch"


def test_a_multi_host_url_asks_for_the_writable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGTARGETSESSIONATTRS", raising=False)
    assert session_options(MULTI, {}) == {"target_session_attrs": "read-write",
                                          "timeout": CONNECT_TIMEOUT}


def test_the_url_the_caller_and_the_environment_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGTARGETSESSIONATTRS", raising=False)
    assert "target_session_attrs" not in session_options(
        MULTI + "?target_session_attrs=any", {})
    assert session_options(MULTI, {"target_session_attrs": "primary", "timeout": 3}) == {
        "target_session_attrs": "primary", "timeout": 3}
    monkeypatch.setenv("PGTARGETSESSIONATTRS", "any")
    assert "target_session_attrs" not in session_options(MULTI, {})


def test_what_counts_as_a_lost_database() -> None:
    for exc in (ConnectionRefusedError(), asyncpg.ReadOnlySQLTransactionError("ro"),
                asyncpg.AdminShutdownError("bye"), asyncpg.CrashShutdownError("crash"),
                asyncpg.TooManyConnectionsError("full"),
                asyncpg.InterfaceError("connection has been released back to the pool"),
                asyncpg.TargetServerAttributeNotMatched("no host is writable")):
        assert is_lost(exc), exc
    assert not is_lost(asyncpg.DeadlockDetectedError("retry me"))  # retried, not lost
    assert asyncpg.DeadlockDetectedError in RETRYABLE
    assert not isinstance(asyncpg.UniqueViolationError("dup"), RETRYABLE)
    assert not isinstance(asyncpg.QueryCanceledError("statement timeout"), LOST)
