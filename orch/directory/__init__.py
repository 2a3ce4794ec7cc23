"""Sign-in with a company directory: the shared external-identity core and its sources.

- :mod:`orch.directory.identity` — :class:`ExternalIdentity`, the source protocols and
  the errors every source raises.
- :mod:`orch.directory.sources` — :class:`Directory`, the configured sources by name.
- :mod:`orch.directory.store` — a directory's people, groups and memberships in orch's
  tables (the cache all gateways share), with the audit rows.
- :mod:`orch.directory.refresh` — reading a membership again when it is due.
- :mod:`orch.directory.ldap` — LDAP / Active Directory (ldap3, off the event loop).

See orch/directory/README.md.
"""

from __future__ import annotations

from orch.directory.identity import (
    BadCredentials,
    DirectoryUnavailable,
    ExternalIdentity,
    IdentitySource,
    PasswordSource,
    UnknownUser,
)
from orch.directory.refresh import Freshness, Refresher, is_due
from orch.directory.sources import Directory
from orch.directory.store import apply_identity, deactivate, link_user

__all__ = [
    "BadCredentials",
    "Directory",
    "DirectoryUnavailable",
    "ExternalIdentity",
    "Freshness",
    "IdentitySource",
    "PasswordSource",
    "Refresher",
    "UnknownUser",
    "apply_identity",
    "deactivate",
    "is_due",
    "link_user",
]
