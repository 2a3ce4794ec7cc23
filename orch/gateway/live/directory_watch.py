"""Closing the live sockets of directory users who lost access.

A socket's rights are taken when it subscribes (``access.py``), and every new
subscription checks a directory user again; but a socket left open would keep
streaming to a user the directory has since removed. So a gateway with a
directory looks at its open sockets every ``interval`` seconds (a quarter of
the shortest refresh interval, at most 30 s): for each directory user among
them, the same check as a request's (``check_directory_user``: nothing while
the membership is within its window; past it, read again — off any request's
path). A user refused by it (removed, disabled, or its directory unreachable
past the window) has its sockets closed with 1008 (policy violation) and the
error's code as the reason.
"""

from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode, web

from orch.gateway.background import background
from orch.gateway.errors import HttpError
from orch.gateway.external import DIRECTORY, check_directory_user
from orch.gateway.keys import POOL, PRINCIPAL
from orch.gateway.live.feed import LIVE
from orch.gateway.live.socket import LiveSocket
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["DIRECTORY_WATCH", "DirectoryWatch", "install_directory_watch"]

log = get_logger("orch.gateway.live.directory_watch")

MAX_INTERVAL = 30.0


class DirectoryWatch:
    def __init__(self, app: web.Application, interval: float) -> None:
        self.app = app
        self.interval = interval

    async def check_once(self) -> int:
        """Check every directory user with an open socket; the number of sockets closed."""
        by_user: dict[str, list[LiveSocket]] = {}
        for socket in list(self.app[LIVE].sockets):
            principal = socket.request.get(PRINCIPAL)
            if principal is not None and principal.directory is not None:
                by_user.setdefault(principal.user_id, []).append(socket)
        closed = 0
        for user_id, sockets in by_user.items():
            refused = await self._refused(sockets[0], user_id)
            if refused is None:
                continue
            log.info("live sockets of a directory user closed", user_id=user_id,
                     reason=refused.message, sockets=len(sockets))
            for socket in sockets:
                socket.close()
                await socket.ws.close(code=WSCloseCode.POLICY_VIOLATION,
                                      message=refused.code.encode())
                closed += 1
        return closed

    async def _refused(self, socket: LiveSocket, user_id: str) -> HttpError | None:
        row = await self.app[POOL].fetchrow(Q.directory_principal, user_id)
        if row is None:
            return HttpError("the user is disabled", code="user-disabled")
        try:
            await check_directory_user(socket.request, row)
        except HttpError as exc:
            return exc
        return None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)  # a timer: the watch's period
            try:
                await self.check_once()
            except Exception:
                log.exception("directory watch of the live sockets failed")


DIRECTORY_WATCH = web.AppKey("live_directory_watch", DirectoryWatch)


def install_directory_watch(app: web.Application) -> None:
    """Watch the live sockets when the app has a directory whose memberships refresh."""
    windows = [s.refresh_seconds for s in app[DIRECTORY] if s.refresh_seconds is not None]
    if not windows:
        return
    app[DIRECTORY_WATCH] = DirectoryWatch(app, min(MAX_INTERVAL, min(windows) / 4))
    app.cleanup_ctx.append(
        background("live:directory-watch", lambda app: app[DIRECTORY_WATCH].run())
    )
