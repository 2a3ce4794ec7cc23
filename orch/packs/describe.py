"""``python -m orch.packs.describe DISTRIBUTION``: the packs a distribution exposes, as JSON.

Run in a fresh interpreter by ``orch ip install`` right after pip, so a newly
installed (or upgraded) distribution is imported from scratch. Prints a JSON
list of :class:`orch.db.packs.PackRecord` (name, version, distribution,
types with their input/output JSON Schemas).
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import entry_points

import msgspec

from orch.sdk.registry import GROUP, Registry

__all__ = ["describe", "normalize"]


def normalize(name: str) -> str:
    """PEP 503 normalisation: ``My_Pack`` and ``my-pack`` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def describe(distribution: str) -> list[dict[str, object]]:
    from orch.db.packs import pack_records

    wanted = normalize(distribution)
    reg = Registry()
    names: list[str] = []
    for ep in entry_points(group=GROUP):
        if ep.dist is None or normalize(ep.dist.name) != wanted:
            continue
        reg.add_pack(ep.name, getattr(ep.load(), "ACTIVITIES", ()))
        reg.versions[ep.name] = (ep.dist.name, ep.dist.version)
        names.append(ep.name)
    return [msgspec.to_builtins(r) for r in pack_records(reg, names)]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m orch.packs.describe DISTRIBUTION\n")
        return 2
    sys.stdout.write(msgspec.json.encode(describe(args[0])).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
