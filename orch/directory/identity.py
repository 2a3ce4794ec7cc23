"""The shared core of every external identity source (LDAP / AD, OpenID Connect).

A source turns a person of the company directory into an :class:`ExternalIdentity`:
where it comes from (``source``), a stable ``subject`` there (an LDAP DN, an OIDC
``sub``), the orch user name, the directory's group names and whether it is an
admin. Everything after that is common and lives in :mod:`orch.directory.store`
(the user, group and membership rows) and :mod:`orch.directory.refresh` (reading
the membership again when it is older than the source's ``refresh_seconds``).

A source never raises anything but the errors below: the gateway maps
:class:`BadCredentials` to the one 401 for both an unknown user and a wrong
password, and :class:`DirectoryUnavailable` to a 503 naming the directory.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

from orch.errors import OrchError

__all__ = [
    "BadCredentials",
    "DirectoryUnavailable",
    "ExternalIdentity",
    "IdentitySource",
    "PasswordSource",
    "UnknownUser",
]


class ExternalIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """A person as a directory describes it, at one read."""

    source: str
    """The source's name: ``ldap``, ``oidc`` (the ``external_identities.source`` column)."""
    subject: str
    """Stable identifier in the source: the user's DN, the issuer's ``sub``."""
    name: str
    """The orch user name (``uid``/``sAMAccountName``, ``preferred_username``, ...)."""
    groups: tuple[str, ...] = ()
    """Directory group names; each is the orch principal ``group:<name>``."""
    is_admin: bool = False
    """Member of one of the source's admin groups: a member of orch's ``admins``."""
    active: bool = True
    """False when the directory says the account is disabled (AD's userAccountControl)."""


class DirectoryUnavailable(OrchError):
    """The directory could not be reached."""

    def __init__(self, directory: str, reason: str) -> None:
        self.directory = directory
        self.reason = reason
        super().__init__(f"the directory {directory} is unavailable: {reason}")


class BadCredentials(OrchError):
    """Wrong user name or password."""


class UnknownUser(BadCredentials):
    """The directory has no such user (answered like a wrong password)."""


@runtime_checkable
class IdentitySource(Protocol):
    """What the common code needs from any source (LDAP, OIDC, ...)."""

    name: str
    """Short, stable: stored with each identity, group and membership it gives."""
    description: str
    """Names the directory in messages: ``LDAP ldap://dc1.example:389``."""
    refresh_seconds: float | None
    """Membership read at sign-in is trusted this long; None: for the whole session."""

    async def refresh(self, subject: str, name: str) -> ExternalIdentity | None:
        """Read the person again (None: no longer in the directory).

        Raises :class:`DirectoryUnavailable`."""
        ...

    async def group_exists(self, name: str) -> bool:
        """Whether the directory has the group (grants to ``group:<name>``)."""
        ...

    async def list_groups(self) -> list[str]:
        """Every group name of the directory (``GET /api/v1/groups``)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class PasswordSource(IdentitySource, Protocol):
    """A source that checks a typed password (LDAP bind): the log-in form uses it."""

    async def authenticate(self, name: str, password: str) -> ExternalIdentity:
        """The person, if ``password`` is theirs.

        Raises :class:`UnknownUser` (no such person), :class:`BadCredentials`
        (wrong password, disabled account) or :class:`DirectoryUnavailable`."""
        ...
