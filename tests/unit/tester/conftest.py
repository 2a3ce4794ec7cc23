"""Logging is configured once, on the real stderr, before any CLI run swaps the streams
(``orch test`` configures it too, which is then a no-op)."""

from __future__ import annotations

import pytest

from orch.logging import configure


@pytest.fixture(autouse=True, scope="session")
def _quiet_logging() -> None:
    configure(level="WARNING")
