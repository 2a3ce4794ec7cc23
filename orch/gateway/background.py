"""One background task for an app's lifetime, as a ``cleanup_ctx`` entry.

The task starts with the app and, on shutdown, is cancelled and awaited, so
nothing outlives the gateway. ``run`` is given the app (the task's object is
usually one of the app's keys, set before the app starts).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web

__all__ = ["background"]


def background(
    name: str, run: Callable[[web.Application], Coroutine[Any, Any, None]]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry that runs ``run(app)`` as the task ``name`` while the app lives."""

    async def _context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run(app), name=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return _context
