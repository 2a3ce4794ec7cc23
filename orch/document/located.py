"""Validation of document text as an editor holds it: every fault with its line and column.

The designer validates as the author types. This is check-in's validation
(``validate.load``: decode, every checker rule, compile) run on the raw text,
each fault placed at a line and column of that text by ``positions``. Text
that is not JSON gives one fault where the syntax breaks.
"""

from __future__ import annotations

import re

from orch.document.faults import DocumentInvalid, Fault
from orch.document.positions import JsonSyntaxError, Position, locate, position_at, positions
from orch.document.validate import load
from orch.sdk.registry import Registry

__all__ = ["LocatedFault", "check_text"]

_BYTE = re.compile(r"\(byte (\d+)\)$")


class LocatedFault:
    """A fault and where it is in the text."""

    __slots__ = ("fault", "position")

    def __init__(self, fault: Fault, position: Position) -> None:
        self.fault = fault
        self.position = position

    def __repr__(self) -> str:
        return f"LocatedFault({self.fault!r}, {self.position!r})"


def _decode_position(text: str, fault: Fault) -> Position:
    """Where msgspec said the JSON broke (only when it disagrees with our scanner)."""
    m = _BYTE.search(fault.message)
    if m is None:
        return Position(1, 1)
    offset = len(text.encode()[: int(m.group(1))].decode(errors="ignore"))
    return position_at(text, offset)


def check_text(text: str, registry: Registry | None = None) -> list[LocatedFault]:
    """Every fault of the document ``text`` (empty when check-in would accept it), by line."""
    if not text.strip():
        return [LocatedFault(Fault("$", "the document is empty", "bad-json"), Position(1, 1))]
    try:
        found = positions(text)
    except JsonSyntaxError as e:
        fault = Fault("$", f"not valid JSON: {e.reason}", "bad-json")
        return [LocatedFault(fault, Position(e.line, e.column))]
    try:
        load(text, registry)
    except DocumentInvalid as e:
        located = [
            LocatedFault(f, _decode_position(text, f) if f.code == "bad-json"
                         else locate(found, f.path))
            for f in e.faults
        ]
        return sorted(located, key=lambda lf: lf.position)
    return []
