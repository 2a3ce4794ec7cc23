"""Failover resources: runbook server assignment, drain and maintenance, takeovers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from orch.api.base import Id, Query, Request, Response

ServerName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SetServers(Request, kw_only=True):
    """``PUT /runbooks/{id}/servers`` and ``PUT /folders/servers``."""

    servers: Annotated[list[ServerName], msgspec.Meta(max_length=32)]
    """Primary first, then standbys in order; registered server names, each once.
    Empty: no assignment of its own (inherit from the folders above, else any server)."""


class FolderQuery(Query, kw_only=True):
    path: str
    """The folder (``/Ops/Services``)."""


class RunbookServers(Response, kw_only=True):
    runbook_id: Id
    path: str
    servers: list[str]
    """The runbook's own assignment (empty: none of its own)."""
    effective: list[str]
    """The assignment in force, primary first (empty: any server may run it)."""
    inherited_from: str | None
    """The folder whose assignment is in force; null when it is the runbook's own or none."""


class FolderServers(Response, kw_only=True):
    path: str
    servers: list[str]
    """The folder's own assignment (empty: none of its own)."""
    effective: list[str]
    """What a runbook in this folder without its own assignment gets."""
    inherited_from: str | None
    """The folder above whose assignment is in force; null when own or none."""


class SetMaintenance(Request, kw_only=True):
    """``PUT /servers/{name}/maintenance``."""

    maintenance: bool
    """True: registered but claiming nothing; false: claim again."""


class Takeover(Response, kw_only=True):
    """One change of an instance's owner after it started (from an event)."""

    at: datetime
    from_server: str | None
    """The owner it was taken from (null when unknown)."""
    to_server: str
    epoch: int
    """The instance's owner epoch from then on."""
    reason: str
    """``down`` (heartbeat lapsed), ``stopped``, ``released`` (hand-over or drain),
    ``resumed`` (a failed instance resumed), ``unregistered``."""


class InstanceTakeovers(Response, kw_only=True):
    instance_id: Id
    items: list[Takeover]
    """Oldest first."""
