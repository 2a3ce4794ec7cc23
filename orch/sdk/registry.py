"""The activity registry: every activity type of every installed integration pack.

A pack is a Python distribution exposing an entry point in the group
``orch.activities``; the entry point's name is the pack name and its target is
a module (or object) with an ``ACTIVITIES`` sequence of :class:`ActivityType`.
A runbook names a type as ``name`` (unique among installed packs, ``core``
wins a clash) or as ``pack:name``.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points

import msgspec

from orch.sdk.declare import ActivityType

GROUP = "orch.activities"


class Registry:
    def __init__(self, types: Iterable[ActivityType] = ()) -> None:
        self._qualified: dict[str, ActivityType] = {}
        self._plain: dict[str, ActivityType] = {}
        self.versions: dict[str, tuple[str, str]] = {}
        """Pack name → (distribution, version), for packs loaded from entry points."""
        for t in types:
            self.add(t)

    def add(self, t: ActivityType) -> None:
        self._qualified[t.qualified_name] = t
        existing = self._plain.get(t.name)
        if existing is None or (t.pack == "core" and existing.pack != "core"):
            self._plain[t.name] = t

    def add_pack(self, pack: str, types: Iterable[ActivityType]) -> None:
        for t in types:
            self.add(msgspec.structs.replace(t, pack=pack))

    def get(self, type_name: str) -> ActivityType | None:
        if ":" in type_name:
            return self._qualified.get(type_name)
        return self._plain.get(type_name)

    def __contains__(self, type_name: str) -> bool:
        return self.get(type_name) is not None

    def __iter__(self):
        return iter(self._qualified.values())

    def packs(self) -> dict[str, list[ActivityType]]:
        out: dict[str, list[ActivityType]] = {}
        for t in self._qualified.values():
            out.setdefault(t.pack, []).append(t)
        return out


_default: Registry | None = None


def load_installed() -> Registry:
    """Build a registry from every installed pack's entry point."""
    reg = Registry()
    for ep in entry_points(group=GROUP):
        target = ep.load()
        reg.add_pack(ep.name, getattr(target, "ACTIVITIES", ()))
        if ep.dist is not None:
            reg.versions[ep.name] = (ep.dist.name, ep.dist.version)
    return reg


def default_registry() -> Registry:
    """The installed packs, loaded once per process."""
    global _default
    if _default is None:
        _default = load_installed()
    return _default
