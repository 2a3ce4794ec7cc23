"""Jobs handed to this server by their start: the push (issue 21, pickup).

A job started while a runbook server sits idle is inserted already claimed by
that server, with its instance row, and ``orch_push`` carries what the server
needs to start it (``insert_job`` in orch/sql/jobs.sql says when a start
pushes). The job's first activity then starts without a claim's round trip;
its claim events are its first group commit's, as for a lean claim.

A push is a notification, and a notification reaches only a listening session:
at each (re)connect of its listener the server reads back the pushed jobs it
never started (``pushed_unstarted``). A job may then come both ways — its
notification arrives while the read is in flight — or end while the read is in
flight; :class:`Adoption` remembers every instance the server ran meanwhile so
none is started twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from orch.logging import get_logger

__all__ = ["Adoption", "Push", "decode_push"]

log = get_logger(__name__)


class Push(msgspec.Struct, frozen=True, kw_only=True):
    """An ``orch_push`` payload: the columns a claim answers, plus whose it is."""

    server: str
    job_id: str
    instance_id: str
    runbook_id: str
    runbook_version: int
    runbook_path: str
    runbook_name: str
    parameters: dict[str, Any]
    created_by: str | None = None

    def row(self) -> dict[str, Any]:
        """The push as a claimed row (the server starts both alike)."""
        return msgspec.structs.asdict(self)


_decoder = msgspec.json.Decoder(Push)


def decode_push(payload: str) -> Push | None:
    """The push in ``payload``, or None (logged) when it is not one."""
    try:
        return _decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning("ignored a malformed orch_push payload", error=str(exc))
        return None


class Adoption:
    """The instances seen while pushed jobs are read back.

    ``begin`` with the instances running then; ``note`` each instance started or
    ended until ``end``, which answers them all: a read-back row among them was
    started already (by its notification, or it has even ended since the read's
    snapshot) and must not start again.
    """

    def __init__(self) -> None:
        self._seen: set[str] | None = None

    def begin(self, running: Iterable[str]) -> None:
        self._seen = set(running)

    def note(self, instance_id: str) -> None:
        if self._seen is not None:
            self._seen.add(instance_id)

    def end(self) -> set[str]:
        seen, self._seen = self._seen or set(), None
        return seen
