"""SCO link triggers → orch link conditions.

A link's ``<TRIGGERS>`` entries are conditions on its source activity: a
``Data`` of ``{GUID}`` tests the activity's outcome (``Value`` a ``#``-joined
set such as ``success#warning``), ``{GUID}.Field`` tests published data with
a ``Condition`` (``equals``, ``doesnotequal``, ``contains``…). SCO compares
text without regard to case, so text comparisons become case-insensitive
regular expressions (``(?i)^value$``); numbers compare as numbers.

Several entries are OR-ed, unless the link says ``And``: orch ORs include
conditions, so "all of A, B" is written as its equivalent "follow, except
when not A or not B": ``include: []`` (whatever the status) and the negation
of each condition in ``exclude`` (exclude conditions are OR-ed vetoes). No
entries keep orch's default, ``Status equals success`` (SCO's default link).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from orch.importers.sco.mapping import sco_operator
from orch.importers.sco.xmlread import SCOObject

if TYPE_CHECKING:
    from orch.importers.sco.build import _Runbook

__all__ = ["negate", "translate_link"]

_STATUSES = {"success": "success", "succeeded": "success", "warning": "warning",
             "failed": "failed", "failure": "failed", "error": "failed"}  # fmt: skip
_TEXT_OPS = {
    "equals": ("matches", "(?i)^{v}$"),
    "not_equals": ("not_matches", "(?i)^{v}$"),
    "contains": ("matches", "(?i){v}"),
    "not_contains": ("not_matches", "(?i){v}"),
    "starts_with": ("matches", "(?i)^{v}"),
    "ends_with": ("matches", "(?i){v}$"),
}
_NEGATION = {"equals": "not_equals", "not_equals": "equals", "contains": "not_contains",
             "not_contains": "contains", "matches": "not_matches", "not_matches": "matches",
             "lt": "ge", "ge": "lt", "le": "gt", "gt": "le"}  # fmt: skip


def _number(text: str) -> bool:
    return re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text.strip()) is not None


def _condition(data: str, op: str, value: str) -> dict[str, Any]:
    if op in _TEXT_OPS and re.search(r"[A-Za-z]", value):
        new_op, pattern = _TEXT_OPS[op]
        return {"data": data, "op": new_op, "value": pattern.format(v=re.escape(value))}
    if op == "starts_with":
        return {"data": data, "op": "matches", "value": "^" + re.escape(value)}
    if op == "ends_with":
        return {"data": data, "op": "matches", "value": re.escape(value) + "$"}
    return {"data": data, "op": op, "value": value}


def negate(c: dict[str, Any]) -> list[dict[str, Any]]:
    """Conditions whose OR is the negation of ``c`` (for exclude)."""
    if c["op"] == "between":
        low, high = c["value"]
        return [{"data": c["data"], "op": "lt", "value": low},
                {"data": c["data"], "op": "gt", "value": high}]
    return [{**c, "op": _NEGATION[c["op"]]}]


def _entry(entry: dict[str, str], source_guid: str, rb: _Runbook, source: str,
           warn: Any) -> dict[str, Any] | None:  # fmt: skip
    data = entry.get("Data", "").strip()
    m = re.fullmatch(r"(\{[0-9A-Fa-f-]{36}\})(?:\.(.+))?", data, re.DOTALL)
    if m is None:
        warn(f"a condition on {data!r} cannot be read; it was left out")
        return None
    guid, sco_field = m.group(1).upper(), m.group(2)
    value = entry.get("Value", "")
    if "`d.T.~" in value:
        warn(f"a condition compares with {value!r}, a subscription: orch compares link "
             "conditions with literal text, so it was kept as written (compare in a "
             "compare_values activity instead)")  # fmt: skip
    if guid != source_guid:
        warn(f"a condition tests {data!r}, which is not published by the link's source "
             f"{rb.names[source]!r}; orch tests the source's data only: it was left out")
        return None
    if sco_field is None:  # the outcome
        statuses = []
        for part in value.split("#"):
            status = _STATUSES.get(part.strip().lower())
            if status is None and part.strip():
                warn(f"the outcome {part!r} is unknown; it was left out")
            elif status is not None and status not in statuses:
                statuses.append(status)
        if not statuses:
            return None
        if len(statuses) == 1:
            return {"data": "Status", "op": "equals", "value": statuses[0]}
        return {"data": "Status", "op": "matches", "value": f"^({'|'.join(statuses)})$"}
    orch_field = rb.field_of(source, sco_field)
    if orch_field is None:
        warn(f"a condition tests {sco_field!r}, which {rb.names[source]!r} does not publish in "
             "orch; it was left out")  # fmt: skip
        return None
    condition = entry.get("Condition", "equals")
    op = sco_operator(condition)
    if op in ("istrue", "isfalse"):
        return {"data": orch_field, "op": "matches",
                "value": "(?i)^true$" if op == "istrue" else "(?i)^false$"}
    if op is None:
        warn(f"the condition {condition!r} is unknown; it was left out")
        return None
    if op == "between":
        parts = re.split(r"[#;]", value)
        if len(parts) != 2:
            warn(f"a between condition needs two values, not {value!r}; it was left out")
            return None
        return {"data": orch_field, "op": "between", "value": [p.strip() for p in parts]}
    if op in ("gt", "ge", "lt", "le") and not _number(value):
        warn(f"{condition} {value!r} compares text in orch (SCO compared dates or numbers)")
    return _condition(orch_field, op, value)


def translate_link(link: SCOObject, source: str, target: str, rb: _Runbook) -> dict[str, Any]:
    label = f"link {rb.names[source]!r} → {rb.names[target]!r}"
    warn = lambda message: rb.warn(f"{label}: {message}")  # noqa: E731
    doc: dict[str, Any] = {"from": source, "to": target}
    name = (link.get("Label") or link.get("Name")).strip()
    if name and name != "Link":
        doc["name"] = name
    if link.has("Enabled") and not link.flag("Enabled"):
        doc["enabled"] = False
    delay = link.get("WaitDelay", "Delay").strip()
    if delay.isdigit() and int(delay) > 0:
        doc["delay_seconds"] = int(delay)
    entries = link.lists.get("TRIGGERS", [])
    if not entries:
        return doc
    source_guid = link.get("SourceObject").strip().upper()
    conditions = [c for e in entries
                  if (c := _entry(e, source_guid, rb, source, warn)) is not None]
    if not conditions:
        warn("none of its conditions could be imported; it follows on success")
        return doc
    if link.flag("And") and len(conditions) > 1:
        doc["include"] = []
        doc["exclude"] = [n for c in conditions for n in negate(c)]
    else:
        doc["include"] = conditions
    return doc
