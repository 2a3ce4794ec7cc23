"""A semantic diff of two runbook documents: what a reviewer wants to know.

Activities are matched by id and links by their ends (``from → to``; several
links between the same two activities pair up in document order), so moving
an activity in the ``activities`` list or reordering links is no change. What
means the same is compared as the same: a link without ``include`` equals one
that spells out ``Status equals success``, and a condition operand ``10``
equals ``"10"`` (values are text). Renaming an activity id is a removal and an
addition, as it is for the references to it.

``diff_runbooks(old, new)`` gives a :class:`RunbookDiff` (a msgspec Struct, so
``--json`` and an HTTP route can hand it out as is); :func:`render` writes it
as text, one line per change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import msgspec

from orch.document.model import DEFAULT_INCLUDE, Activity, Link, Runbook, as_text
from orch.document.properties import child_path

__all__ = [
    "ActivityChange",
    "ActivityRef",
    "Change",
    "LinkChange",
    "LinkRef",
    "RunbookDiff",
    "diff_runbooks",
    "render",
]

RUNBOOK_FIELDS = ("format", "name", "folder", "description", "max_concurrent_jobs")
"""Scalar runbook-level fields, compared as values (``returns``/``tests`` by name)."""


class Change(msgspec.Struct, kw_only=True):
    """One difference at ``path`` (relative to what changed, e.g. ``properties.args[0]``)."""

    path: str
    kind: Literal["added", "removed", "changed"]
    old: Any = None
    """The old JSON value (null when added)."""
    new: Any = None
    """The new JSON value (null when removed)."""


class ActivityRef(msgspec.Struct, kw_only=True):
    id: str
    type: str
    name: str | None


class ActivityChange(ActivityRef, kw_only=True):
    changes: list[Change]


class LinkRef(msgspec.Struct, kw_only=True, rename={"from_": "from"}):
    from_: str
    to: str
    name: str | None


class LinkChange(LinkRef, kw_only=True):
    changes: list[Change]


class RunbookDiff(msgspec.Struct, kw_only=True):
    old_path: str
    new_path: str
    runbook: list[Change]
    """Runbook-level fields: name, folder, description, returns, tests …"""
    activities_added: list[ActivityRef]
    activities_removed: list[ActivityRef]
    activities_changed: list[ActivityChange]
    links_added: list[LinkRef]
    links_removed: list[LinkRef]
    links_changed: list[LinkChange]

    @property
    def empty(self) -> bool:
        return not (
            self.runbook
            or self.activities_added
            or self.activities_removed
            or self.activities_changed
            or self.links_added
            or self.links_removed
            or self.links_changed
        )


def diff_runbooks(old: Runbook, new: Runbook) -> RunbookDiff:
    """What changed from ``old`` to ``new`` (both decoded documents; validity not needed)."""
    runbook: list[Change] = []
    for name in RUNBOOK_FIELDS:
        runbook.extend(_changes(getattr(old, name), getattr(new, name), child_path("$", name)))
    runbook.extend(_keyed(_plain(old.returns), _plain(new.returns), "$.returns"))
    runbook.extend(_keyed(_plain(old.tests), _plain(new.tests), "$.tests"))

    old_acts = {a.id: a for a in old.activities}
    new_acts = {a.id: a for a in new.activities}
    changed_acts: list[ActivityChange] = []
    for aid, after in new_acts.items():
        before = old_acts.get(aid)
        if before is None:
            continue
        changes = _changes(_activity(before), _activity(after), "$")
        if changes:
            changed_acts.append(
                ActivityChange(id=aid, type=after.type, name=after.name, changes=changes)
            )

    old_links, new_links = _paired(old.links), _paired(new.links)
    changed_links: list[LinkChange] = []
    for key, after in new_links.items():
        before = old_links.get(key)
        if before is None:
            continue
        changes = _changes(_link(before), _link(after), "$")
        if changes:
            changed_links.append(
                LinkChange(from_=after.from_, to=after.to, name=after.name, changes=changes)
            )

    return RunbookDiff(
        old_path=old.path,
        new_path=new.path,
        runbook=runbook,
        activities_added=[_act_ref(a) for i, a in new_acts.items() if i not in old_acts],
        activities_removed=[_act_ref(a) for i, a in old_acts.items() if i not in new_acts],
        activities_changed=changed_acts,
        links_added=[_link_ref(v) for k, v in new_links.items() if k not in old_links],
        links_removed=[_link_ref(v) for k, v in old_links.items() if k not in new_links],
        links_changed=changed_links,
    )


# ---- comparing ----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


def _activity(a: Activity) -> dict[str, Any]:
    out = _plain(a)
    del out["id"]
    if out.get("loop"):
        out["loop"]["until"] = [_condition(c) for c in out["loop"]["until"]]
    return out


def _condition(c: dict[str, Any]) -> dict[str, Any]:
    value = c["value"]
    text = [as_text(v) for v in value] if isinstance(value, list) else as_text(value)
    return {**c, "value": text}


def _link(link: Link) -> dict[str, Any]:
    out = _plain(link)
    for key in ("from", "to"):
        del out[key]
    if out["include"] is None:
        out["include"] = _plain(list(DEFAULT_INCLUDE))
    out["include"] = [_condition(c) for c in out["include"]]
    out["exclude"] = [_condition(c) for c in out["exclude"]]
    return out


def _paired(links: Sequence[Link]) -> dict[tuple[str, str, int], Link]:
    """Links keyed by (from, to, n): the n-th link between the same two activities."""
    out: dict[tuple[str, str, int], Link] = {}
    counts: dict[tuple[str, str], int] = {}
    for link in links:
        n = counts.get((link.from_, link.to), 0)
        counts[(link.from_, link.to)] = n + 1
        out[(link.from_, link.to, n)] = link
    return out


def _act_ref(a: Activity) -> ActivityRef:
    return ActivityRef(id=a.id, type=a.type, name=a.name)


def _link_ref(link: Link) -> LinkRef:
    return LinkRef(from_=link.from_, to=link.to, name=link.name)


def _rel(path: str) -> str:
    """``$.properties.args[0]`` → ``properties.args[0]`` (``$`` → ``""``)."""
    return path[2:] if path.startswith("$.") else path[1:]


def _changes(old: Any, new: Any, path: str) -> list[Change]:
    """Leaf differences: objects key by key, lists of equal length item by item."""
    if old == new and type(old) is type(new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in [*old, *(k for k in new if k not in old)]:
            sub = child_path(path, key)
            before, after = old.get(key), new.get(key)  # null is as good as absent
            if before is not None and after is None:
                out.append(Change(path=_rel(sub), kind="removed", old=before))
            elif before is None and after is not None:
                out.append(Change(path=_rel(sub), kind="added", new=after))
            elif before is not None:
                out.extend(_changes(before, after, sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True))
                for c in _changes(a, b, child_path(path, i))]  # fmt: skip
    if old == new:
        return []  # 1 and 1.0: the same value
    return [Change(path=_rel(path), kind="changed", old=old, new=new)]


def _keyed(old: list[dict[str, Any]], new: list[dict[str, Any]], path: str) -> list[Change]:
    """Lists of named entries (returns, test cases) compared by name."""
    before = {e["name"]: e for e in old}
    after = {e["name"]: e for e in new}
    out: list[Change] = []
    for name in [*before, *(n for n in after if n not in before)]:
        sub = child_path(path, name)
        if name not in after:
            out.append(Change(path=_rel(sub), kind="removed", old=before[name]))
        elif name not in before:
            out.append(Change(path=_rel(sub), kind="added", new=after[name]))
        else:
            out.extend(_changes(before[name], after[name], sub))
    return out


# ---- text ---------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."


def _change_line(c: Change, indent: str) -> str:
    where = c.path or "(value)"
    if c.kind == "added":
        return f"{indent}+ {where}: {_value(c.new)}"
    if c.kind == "removed":
        return f"{indent}- {where}: {_value(c.old)}"
    return f"{indent}~ {where}: {_value(c.old)} → {_value(c.new)}"


def _act_label(a: ActivityRef) -> str:
    name = f" “{a.name}”" if a.name else ""
    return f"{a.id} ({a.type}){name}"


def _link_label(link: LinkRef) -> str:
    name = f" “{link.name}”" if link.name else ""
    return f"{link.from_} → {link.to}{name}"


def render(diff: RunbookDiff, *, old_label: str = "", new_label: str = "") -> str:
    """The diff as text: a header, then one line per change (``+`` added, ``-`` removed,
    ``~`` changed), grouped as runbook, activities, links."""
    lines = [
        f"--- {old_label or diff.old_path}" + (f" ({diff.old_path})" if old_label else ""),
        f"+++ {new_label or diff.new_path}" + (f" ({diff.new_path})" if new_label else ""),
    ]
    if diff.empty:
        lines.append("no differences")
        return "\n".join(lines)
    if diff.runbook:
        lines.append("runbook:")
        lines.extend(_change_line(c, "  ") for c in diff.runbook)
    if diff.activities_added or diff.activities_removed or diff.activities_changed:
        lines.append("activities:")
        lines.extend(f"  + {_act_label(a)}" for a in diff.activities_added)
        lines.extend(f"  - {_act_label(a)}" for a in diff.activities_removed)
        lines.extend(_grouped(diff.activities_changed, _act_label))
    if diff.links_added or diff.links_removed or diff.links_changed:
        lines.append("links:")
        lines.extend(f"  + {_link_label(k)}" for k in diff.links_added)
        lines.extend(f"  - {_link_label(k)}" for k in diff.links_removed)
        lines.extend(_grouped(diff.links_changed, _link_label))
    return "\n".join(lines)


def _grouped(changed: Iterable[Any], label: Any) -> list[str]:
    out: list[str] = []
    for entry in changed:
        out.append(f"  ~ {label(entry)}")
        out.extend(_change_line(c, "      ") for c in entry.changes)
    return out
