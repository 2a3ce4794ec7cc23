"""How the live feed's readers are woken, as both sides must agree on it.

Every statement that inserts events NOTIFYs ``orch_events`` at its commit
(the ``events_notify`` trigger), and the gateways' readers wait on that. A
NOTIFY costs more than its message: PostgreSQL serialises notifying commits
(a lock held through each one's WAL flush, so two group commits in flight
queue behind each other instead of sharing a flush), and it wakes every
listening backend and process. Under load one wake-up per commit is far more
than a reader needs (issue 21: without it, 1,000 chain10s ran ~20 % more steps
a second, and a lone chain's steps were ~5 % shorter).

So the runbook server's group commit writer marks a statement *quiet* (no
NOTIFY; ``set_config('orch.events_quiet', 'on', true)``, its transaction
only) when one of its commits notified less than :data:`QUIET_SECONDS` ago,
and a reader, once woken, keeps polling every :data:`HOT_POLL_SECONDS` for
:data:`HOT_SECONDS` after it last read something new. A quiet commit is
found by that polling: it committed within ``QUIET_SECONDS`` of the
notifying commit (the writer notifies on its own when a quiet commit ends
later than :data:`LATE_SECONDS` after it), well inside the reader's window.
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
