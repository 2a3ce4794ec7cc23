"""The gateway: orch's REST API (aiohttp), built by :func:`make_app`."""

from __future__ import annotations

from orch.gateway.app import MAX_BODY_BYTES, make_app
from orch.gateway.keys import POOL, REGISTRY, SETTINGS

__all__ = ["MAX_BODY_BYTES", "POOL", "REGISTRY", "SETTINGS", "make_app"]
