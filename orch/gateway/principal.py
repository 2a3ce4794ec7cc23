"""Who is making a request, and what the permission model lets them do.

Rights are granted to a user or a group on a runbook or folder path and are
inherited by everything below it (``/`` covers everything). ``view``,
``start``, ``stop`` and ``design`` act on runbooks; holding any of them makes
the path visible (nobody starts what they cannot see). ``deploy`` and
``manage_permissions`` are system rights, granted on ``/``. Members of
``admins`` hold every right everywhere.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Right = Literal["view", "start", "stop", "design", "deploy", "manage_permissions"]
RUNBOOK_RIGHTS: frozenset[str] = frozenset({"view", "start", "stop", "design"})
"""Rights on runbooks and folders; any of them makes the path visible."""
SYSTEM_RIGHTS: frozenset[str] = frozenset({"deploy", "manage_permissions"})
ALL_RIGHTS: frozenset[str] = RUNBOOK_RIGHTS | SYSTEM_RIGHTS


def covers(target: str, path: str) -> bool:
    """Whether a grant on ``target`` applies to ``path`` (the same path or below it)."""
    return target == "/" or path == target or path.startswith(target + "/")


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    name: str
    is_admin: bool
    """Member of the built-in group ``admins``: every right everywhere."""
    token_id: str | None = None
    directory: str | None = None
    """The identity source of a directory user (``ldap``, ``oidc``); None: a local user."""
    grants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(target path, rights) held by the user and its groups, merged per target."""

    def rights_on(self, path: str) -> frozenset[str]:
        """Every right held on ``path``, inherited from the folders above it."""
        if self.is_admin:
            return ALL_RIGHTS
        out: set[str] = set()
        for target, rights in self.grants:
            if covers(target, path):
                out.update(rights)
        return frozenset(out)

    def may(self, right: str, path: str) -> bool:
        held = self.rights_on(path)
        if right == "view":
            return bool(held & RUNBOOK_RIGHTS)
        return right in held

    def may_see(self, path: str) -> bool:
        """Visible: a right on it, or on something below it (the folders leading there)."""
        if self.is_admin or path == "/" or self.may("view", path):
            return True
        prefix = path.rstrip("/") + "/"
        return any(t.startswith(prefix) and set(r) & RUNBOOK_RIGHTS for t, r in self.grants)

    def view_scope(self) -> list[str] | None:
        """Paths whose subtrees the caller may view, for SQL filters (None: everything)."""
        if self.is_admin:
            return None
        return sorted({t for t, r in self.grants if set(r) & RUNBOOK_RIGHTS})
