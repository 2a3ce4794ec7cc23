"""How the live feed's readers are woken, as both sides must agree on it.

Every statement that inserts events NOTIFYs ``orch_events`` at its commit
(the ``events_notify`` trigger), and the gateways' readers wait on that. A
NOTIFY costs more than its message: PostgreSQL serialises notifying commits
(a lock held through each one's WAL flush) and wakes every listening backend
and process, on the same cores. A lone instance stepping through a chain pays
that on every durable step (issue 21: chain10 ~2.05 → ~1.87 × the floor of
ten bare commits without it); under load one NOTIFY is shared by a batch of
hundreds of records, and the readers are best woken at once.

So the runbook server's group commit writer marks a lone run's statement
(``write_run``) *quiet* — no NOTIFY; ``set_config('orch.events_quiet', 'on',
true)``, its transaction only — when one of its commits notified less than
:data:`QUIET_SECONDS` ago, and a reader, once woken, keeps polling every
:data:`HOT_POLL_SECONDS` for :data:`HOT_SECONDS` after it last read something
new. A quiet commit is found by that polling: it was sent within
``QUIET_SECONDS`` of the notifying commit's end, and one that ends later than
:data:`LATE_SECONDS` after it has its wake-up sent by the writer's next batch,
or by the writer on its own once idle.
"""

from __future__ import annotations

__all__ = ["HOT_POLL_SECONDS", "HOT_SECONDS", "LATE_SECONDS", "QUIET_SECONDS"]

QUIET_SECONDS = 0.05
"""A writer's commit is quiet when its last notifying commit ended less than this ago."""

LATE_SECONDS = 2 * QUIET_SECONDS
"""A quiet commit ending later than this after the last notifying one notifies on its own."""

HOT_SECONDS = 5 * QUIET_SECONDS
"""A reader polls for this long after its last read of something new."""

HOT_POLL_SECONDS = 0.01
"""The reader's poll interval meanwhile: the most a quiet commit's events wait."""
