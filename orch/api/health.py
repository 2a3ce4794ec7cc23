"""The public liveness body."""

from __future__ import annotations

from typing import Literal

from orch.api.base import Response


class Health(Response, kw_only=True):
    status: Literal["ok", "unavailable"]
    version: str
    database: Literal["ok", "unavailable"]
