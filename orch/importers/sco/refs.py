"""SCO text → orch template text: published-data and variable references translated.

SCO writes a subscription inside text as ``\\`d.T.~Ed/{ACTIVITY}.Field\\`d.T.~Ed/``
(for Initialize Data the field is the parameter's ``{GUID}``), a global
variable as ``\\`d.T.~Vb/{GUID}\\`d.T.~Vb/``, and encrypted values between
``Ec``/``De`` markers. Everything around them is literal text and is written
with :func:`orch.document.expr.escape_literal`, so a script or a JSON body
stays exactly as it was; each subscription becomes ``{id.Field}`` or
``{variable:Name}``. A reference that cannot be translated is kept as
literal text and reported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from orch.document.expr import escape_literal

__all__ = ["MARKER", "Resolver", "field_key", "slug", "split_args", "translate"]

MARKER = re.compile(r"\\?`d\.T\.~(Ed|Vb|Ec|De)/(.*?)\\?`d\.T\.~\1/", re.DOTALL)
_ED = re.compile(r"^\s*(\{[0-9A-Fa-f-]{36}\})\.(.+?)\s*$", re.DOTALL)
_VB = re.compile(r"^\s*(\{[0-9A-Fa-f-]{36}\})\s*$")
_HOLE = re.compile("\ue000([0-9]+)\ue001")

Resolver = Callable[[str, str, str], "str | None"]
"""(kind ``Ed``/``Vb``, GUID upper-case, field) → template reference, or None (untranslatable;
the resolver has reported why)."""


def field_key(name: str) -> str:
    """A published-data name compared loosely: ``Program exit code`` ~ ``ProgramExitCode``."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def slug(name: str, *, fallback: str = "activity") -> str:
    """An activity id (``[A-Za-z_][A-Za-z0-9_]*``): ``Run Program`` → ``run_program``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        text = fallback
    if text[0].isdigit():
        text = f"{fallback}_{text}"
    return text


def name_slug(name: str, *, fallback: str = "value") -> str:
    """A parameter or returned-data name: like :func:`slug` but keeping the case."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")
    if not text:
        text = fallback
    if text[0].isdigit():
        text = f"_{text}"
    return text


def translate(text: str, resolve: Resolver, warn: Callable[[str], None]) -> str:
    """The template text rendering ``text`` with its SCO references translated."""
    if "\ue000" in text or "\ue001" in text:  # our holes: never in real exports
        text = text.replace("\ue000", "").replace("\ue001", "")
        warn("private-use characters U+E000/U+E001 were removed from the text")
    holes: list[str] = []

    def hole(m: re.Match[str]) -> str:
        kind, body = m.group(1), m.group(2)
        ref: str | None = None
        if kind == "Ed":
            ed = _ED.match(body)
            if ed is not None:
                ref = resolve("Ed", ed.group(1).upper(), ed.group(2))
            else:
                warn(f"a published-data reference {body!r} has no {{GUID}}.Field shape; "
                     "kept as text")  # fmt: skip
        elif kind == "Vb":
            vb = _VB.match(body)
            if vb is not None:
                ref = resolve("Vb", vb.group(1).upper(), "")
            else:
                warn(f"a variable reference {body!r} has no {{GUID}} shape; kept as text")
        else:
            warn("an encrypted value cannot be imported (it is encrypted with the SCO "
                 "server's key); it was left out: put the secret in an encrypted variable "
                 "and reference it as {variable:Name}")  # fmt: skip
            ref = ""
        if ref is None:
            return m.group(0)
        holes.append(ref)
        return f"\ue000{len(holes) - 1}\ue001"

    marked = MARKER.sub(hole, text)
    escaped = escape_literal(marked)
    return _HOLE.sub(lambda m: holes[int(m.group(1))], escaped)


def split_args(text: str) -> list[str]:
    """A Windows-style command line split into arguments (blanks separate, double quotes
    group, ``\\"`` is a quote). SCO markers are split as single words whatever they hold."""
    protected: list[str] = []

    def keep(m: re.Match[str]) -> str:
        protected.append(m.group(0))
        return f"\ue002{len(protected) - 1}\ue003"

    marked = MARKER.sub(keep, text)
    args: list[str] = []
    current: list[str] = []
    in_quotes = started = False
    i = 0
    while i < len(marked):
        c = marked[i]
        if c == "\\" and i + 1 < len(marked) and marked[i + 1] == '"':
            current.append('"')
            started = True
            i += 2
            continue
        if c == '"':
            in_quotes = not in_quotes
            started = True
        elif c in " \t\r\n" and not in_quotes:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(c)
            started = True
        i += 1
    if started:
        args.append("".join(current))
    back = re.compile("\ue002([0-9]+)\ue003")
    return [back.sub(lambda m: protected[int(m.group(1))], a) for a in args]


def unique(base: str, taken: set[str], reserved: Iterable[str] = ()) -> str:
    """``base``, or ``base_2``, ``base_3``… — the first not in ``taken`` (then taken)."""
    blocked = taken | set(reserved)
    candidate, n = base, 2
    while candidate in blocked:
        candidate = f"{base}_{n}"
        n += 1
    taken.add(candidate)
    return candidate
