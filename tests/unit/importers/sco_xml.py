"""Small hand-written SCO export pieces for the importer's unit tests."""

from __future__ import annotations

from xml.sax.saxutils import escape


def guid(n: int, kind: str = "B") -> str:
    return f"{{{kind}0000000-0000-0000-0000-{n:012d}}}"


def ref(n: int, field: str) -> str:
    return f"\\`d.T.~Ed/{guid(n)}.{field}\\`d.T.~Ed/"


def var(n: int) -> str:
    return f"\\`d.T.~Vb/{guid(n, 'D')}\\`d.T.~Vb/"


def fields(**values: str) -> str:
    return "".join(f'<{k} datatype="string">{escape(v)}</{k}>' for k, v in values.items())


def activity(n: int, name: str, sco_type: str, extra: str = "", **values: str) -> str:
    return (f"<Object>{fields(UniqueID=guid(n), Name=name, ObjectTypeName=sco_type)}"
            f"{fields(**values)}{extra}</Object>")


def start(n: int = 1, *params: tuple[int, str]) -> str:
    entries = "".join(
        f"<Entry>{fields(UniqueID=guid(p, 'C'), Value=name, Type='String')}</Entry>"
        for p, name in params)
    return activity(n, "Start", "Custom Start",
                    f"<CUSTOM_START_PARAMETERS>{entries}</CUSTOM_START_PARAMETERS>")


def link(src: int, dst: int, triggers: list[dict[str, str]] | None = None, **values: str) -> str:
    body = fields(ObjectTypeName="Link", ObjectType="{7A65BD17-9532-4D07-A6DA-E0F89FA0203E}",
                  SourceObject=guid(src), TargetObject=guid(dst), **values)
    if triggers is not None:
        body += "<TRIGGERS>" + "".join(f"<Entry>{fields(**t)}</Entry>" for t in triggers)
        body += "</TRIGGERS>"
    return f"<Object>{body}</Object>"


def policy(name: str, *objects: str, n: int = 1, **values: str) -> str:
    return (f"<Policy>{fields(UniqueID=guid(n, 'A'), Name=name, **values)}"
            f"{''.join(objects)}</Policy>")


def export(*policies: str, globals_: str = "", folders: tuple[str, ...] = ()) -> bytes:
    inner = "".join(policies)
    for f in reversed(folders):
        inner = f"<Folder>{fields(Name=f)}{inner}</Folder>"
    return (f"<ExportData><Policies><Folder>{inner}</Folder></Policies>"
            f"{globals_}</ExportData>").encode()


def variables(*items: tuple[int, str, str]) -> str:
    objs = "".join(
        "<Object>"
        + fields(UniqueID=guid(n, "D"), Name=name, ObjectTypeName="Variable", Value=value)
        + "</Object>" for n, name, value in items)
    return f"<GlobalSettings><Variables><Folder>{objs}</Folder></Variables></GlobalSettings>"
