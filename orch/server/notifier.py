"""Runbook notifications: raise them in the database, deliver them by email and webhook.

Every runbook server runs one ``Notifier`` (a side task of its TaskGroup).
Each poll it raises what is due (``detect_notifications``: runs longer than
the runbook's ``notifications.runs_longer_than_seconds``, fails to run), under
a transaction-scoped advisory lock so that two servers never raise the same
one; each notification is a ``notifications`` row plus a ``notification``
event, which the live feed carries. Then, when delivery is configured
(``ORCH_NOTIFY_SMTP_*``, ``ORCH_NOTIFY_WEBHOOK_*``), it claims due rows
(``FOR UPDATE SKIP LOCKED``: exactly one server sends each) and sends them;
a failed delivery is tried again after a back-off that doubles each time, up
to ``notify_max_attempts``. The webhook body is JSON; the header
``X-Orch-Signature: sha256=<hex>`` is the HMAC-SHA256 of the body with
``ORCH_NOTIFY_WEBHOOK_SECRET``; ``X-Orch-Notification-Id`` lets a receiver
drop a repeat (when one channel failed, both are tried again).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiohttp
import asyncpg
import msgspec

from orch.config import Settings
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["Notification", "Notifier", "sign"]

log = get_logger(__name__)

CLAIM_SECONDS = 60.0
"""How long a claimed notification is this server's before another may try it."""


class Notification(msgspec.Struct, kw_only=True):
    """What is sent: the webhook's JSON body, and the email's content."""

    id: int
    kind: str
    """``runs_longer`` or ``failed_to_run``."""
    job_id: str
    instance_id: str | None
    runbook_id: str
    runbook_path: str
    message: str
    created_at: datetime


def sign(secret: str, body: bytes) -> str:
    """The ``X-Orch-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    """Raises due notifications and delivers them; see the module docstring."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, server: str) -> None:
        self.pool = pool
        self.settings = settings
        self.server = server
        self._session: aiohttp.ClientSession | None = None

    @property
    def delivers(self) -> bool:
        s = self.settings
        return bool(s.notify_smtp_host or s.notify_webhook_url)

    async def run(self) -> None:
        """Until cancelled: one round per poll interval."""
        from orch.db.writer import RETRYABLE

        try:
            while True:
                try:
                    await self.round()
                except RETRYABLE as exc:
                    log.warning("database unavailable", during="notifications", error=str(exc))
                await asyncio.sleep(self.settings.poll_seconds)
        finally:
            if self._session is not None:
                await self._session.close()

    async def round(self) -> int:
        """Raise what is due, then deliver what is claimable; returns how many were raised."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(Q.notifications_lock)
            raised: int = await conn.fetchval(Q.detect_notifications)
        if raised:
            log.info("notifications raised", count=raised)
        if self.delivers:
            await self.deliver_due()
        return raised

    async def deliver_due(self) -> None:
        s = self.settings
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(Q.claim_notifications, self.server, s.notify_max_attempts,
                                    CLAIM_SECONDS)
        for row in rows:
            note = Notification(**{k: row[k] for k in Notification.__struct_fields__})
            try:
                await self._send(note)
            except Exception as exc:  # any delivery failure is retried later
                backoff = s.notify_retry_seconds * 2 ** (row["attempts"] - 1)
                log.warning("notification not delivered", id=note.id, attempt=row["attempts"],
                            error=repr(exc), retry_in=backoff)
                async with self.pool.acquire() as conn:
                    await conn.execute(Q.notification_failed, note.id, self.server,
                                       f"{type(exc).__name__}: {exc}"[:2000], backoff)
            else:
                async with self.pool.acquire() as conn:
                    await conn.execute(Q.notification_delivered, note.id, self.server)

    async def _send(self, note: Notification) -> None:
        if self.settings.notify_webhook_url:
            await self._post(note)
        if self.settings.notify_smtp_host:
            await self._mail(note)

    async def _post(self, note: Notification) -> None:
        s = self.settings
        assert s.notify_webhook_url is not None
        body = msgspec.json.encode(note)
        headers = {"Content-Type": "application/json",
                   "X-Orch-Notification-Id": str(note.id)}
        if s.notify_webhook_secret:
            headers["X-Orch-Signature"] = sign(s.notify_webhook_secret, body)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        async with self._session.post(s.notify_webhook_url, data=body, headers=headers) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"webhook answered {resp.status}")

    async def _mail(self, note: Notification) -> None:
        import aiosmtplib

        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.notify_smtp_from
        msg["To"] = ", ".join(s.notify_smtp_to)
        msg["Subject"] = f"[orch] {note.kind.replace('_', ' ')}: {note.runbook_path}"
        msg["X-Orch-Notification-Id"] = str(note.id)
        msg.set_content(_mail_text(note))
        await aiosmtplib.send(msg, hostname=s.notify_smtp_host, port=s.notify_smtp_port,
                              timeout=10)


def _mail_text(note: Notification) -> str:
    lines: list[Any] = [
        note.message, "",
        f"runbook:  {note.runbook_path} ({note.runbook_id})",
        f"job:      {note.job_id}",
        f"instance: {note.instance_id or '-'}",
        f"raised:   {note.created_at.isoformat()}",
    ]
    return "\n".join(str(x) for x in lines) + "\n"
