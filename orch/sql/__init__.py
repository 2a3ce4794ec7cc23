"""Named SQL queries, loaded once from every ``orch/sql/*.sql`` file.

Each query sits under a ``-- name: query_name`` header, followed by a comment
line naming its ``$1..$n`` parameters. ``from orch.sql import Q`` then
``Q.claim_jobs`` is the query text. Names are unique across files; a clash or
a malformed file fails at import, not at the first use of a query.
"""

from __future__ import annotations

import re
from importlib import resources

__all__ = ["Q", "Queries", "parse_queries"]

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str, *, source: str = "<sql>") -> dict[str, str]:
    """Split a named-query file into ``{name: sql}``."""
    out: dict[str, str] = {}
    matches = list(_NAME.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[m.end() : end].strip()
        if not body:
            raise ValueError(f"{source}: query {m.group(1)!r} is empty")
        name = m.group(1)
        if name in out:
            raise ValueError(f"{source}: query {name!r} defined twice")
        out[name] = body
    return out


class Queries:
    """Attribute access to the named queries (``Q.claim_jobs``)."""

    def __init__(self, queries: dict[str, str]) -> None:
        self._queries = queries

    def __getattr__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"no SQL query named {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._queries

    def names(self) -> list[str]:
        return sorted(self._queries)


def _load() -> Queries:
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    files = sorted(
        (f for f in resources.files(__name__).iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    for f in files:
        for name, body in parse_queries(f.read_text(encoding="utf-8"), source=f.name).items():
            if name in merged:
                raise ValueError(f"SQL query {name!r} defined in {origin[name]} and {f.name}")
            merged[name] = body
            origin[name] = f.name
    return Queries(merged)


Q = _load()
