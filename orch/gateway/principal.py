"""Who is making a request."""

from __future__ import annotations

import msgspec


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    name: str
    is_admin: bool
    """Member of the built-in group ``admins``: every right everywhere."""
    token_id: str | None = None
