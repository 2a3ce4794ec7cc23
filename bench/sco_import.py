"""sco_import: the cost of translating an SCO export (no database).

Builds an export of ``--runbooks`` policies, each an Initialize Data and
``--activities`` Run Program activities in a chain, every one subscribing to
the previous one's output and to a global variable, with an And-ed two-entry
link trigger; then times, as the gateway does them: parsing (defusedxml),
translating (``build``) and validating/compiling every runbook (``load``).
Prints one JSON line: the export's bytes, each stage's milliseconds (the
median of ``--rounds``) and the runbooks per second of the whole.

    python bench/sco_import.py [--runbooks 100] [--activities 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from orch.document import load
from orch.importers.sco import build, parse_export
from orch.sdk.registry import default_registry


def _field(tag: str, value: str) -> str:
    return f'<{tag} datatype="string">{value}</{tag}>'


def _guid(p: int, n: int) -> str:
    return f"{{B{p:07d}-0000-0000-0000-{n:012d}}}"


VARIABLE = "{D0000000-0000-0000-0000-000000000001}"
PARAMETER = "{C0000000-0000-0000-0000-000000000001}"
MARK_ED = "\\`d.T.~Ed/"
MARK_VB = "\\`d.T.~Vb/"


def _object(**fields: str) -> str:
    return "<Object>" + "".join(_field(k, v) for k, v in fields.items()) + "</Object>"


def _triggers(source: str) -> str:
    status = _field("Data", source) + _field("Value", "success")
    code = (_field("Data", source + ".ExitCode") + _field("Condition", "equals")
            + _field("Value", "0"))
    return f"<TRIGGERS><Entry>{status}</Entry><Entry>{code}</Entry></TRIGGERS>"


def make_export(runbooks: int, activities: int) -> bytes:
    parts = ["<ExportData><Policies><Folder><Folder>", _field("Name", "Bench")]
    variable = MARK_VB + VARIABLE + MARK_VB
    for p in range(runbooks):
        entry = _field("UniqueID", PARAMETER) + _field("Value", "Target")
        start = (_object(UniqueID=_guid(p, 0), Name="Initialize Data",
                         ObjectTypeName="Custom Start")[:-len("</Object>")]
                 + f"<CUSTOM_START_PARAMETERS><Entry>{entry}</Entry>"
                 "</CUSTOM_START_PARAMETERS></Object>")
        objs = [start]
        for a in range(1, activities + 1):
            source = _guid(p, a - 1)
            field = "Pure output" if a > 1 else PARAMETER
            subscription = MARK_ED + source + "." + field + MARK_ED
            objs.append(_object(UniqueID=_guid(p, a), Name=f"Step {a}",
                                ObjectTypeName="Run Program", ProgramPath="echo",
                                Parameters=f"{subscription} {variable} {{x: [1]}}"))
            link = _object(ObjectTypeName="Link", SourceObject=source,
                           TargetObject=_guid(p, a), And="TRUE")
            if a > 1:
                link = link[:-len("</Object>")] + _triggers(source) + "</Object>"
            objs.append(link)
        head = _field("UniqueID", _guid(p, 99)) + _field("Name", f"Runbook {p}")
        parts.append(f"<Policy>{head}{''.join(objs)}</Policy>")
    parts.append("</Folder></Folder></Policies><GlobalSettings><Variables><Folder>"
                 + _object(UniqueID=VARIABLE, Name="Region", ObjectTypeName="Variable",
                           Value="eu")
                 + "</Folder></Variables></GlobalSettings></ExportData>")
    return "".join(parts).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runbooks", type=int, default=100)
    ap.add_argument("--activities", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    data = make_export(args.runbooks, args.activities)
    registry = default_registry()
    stages: dict[str, list[float]] = {"parse_ms": [], "build_ms": [], "load_ms": []}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        export = parse_export(data)
        t1 = time.perf_counter()
        built = build(export, "/Imported")
        t2 = time.perf_counter()
        for rb in built.runbooks:
            load(rb.document, registry)
        t3 = time.perf_counter()
        assert all(rb.enabled for rb in built.runbooks), built.runbooks[0].warnings
        stages["parse_ms"].append((t1 - t0) * 1000)
        stages["build_ms"].append((t2 - t1) * 1000)
        stages["load_ms"].append((t3 - t2) * 1000)
    result = {k: round(statistics.median(v), 1) for k, v in stages.items()}
    total = sum(result.values())
    print(json.dumps({"bench": "sco_import", "runbooks": args.runbooks,
                      "activities": args.activities, "export_bytes": len(data), **result,
                      "runbooks_per_s": round(args.runbooks / (total / 1000), 1)}))


if __name__ == "__main__":
    main()
