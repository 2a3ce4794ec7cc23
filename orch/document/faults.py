"""Validation faults: where (a JSON path), what (plain English), which rule (a slug).

Codes are stable: tools and tests match on them. Decoding faults come from
msgspec's messages, rephrased here so that every fault reads the same way.

Codes: ``bad-json``, ``unknown-key``, ``missing-key``, ``wrong-type``,
``bad-value`` (decoding); ``bad-name``, ``bad-folder``, ``out-of-range``,
``bad-return-name``, ``duplicate-return`` (runbook); ``no-activities``,
``bad-id``, ``reserved-id``, ``duplicate-id``, ``unknown-type``,
``unknown-property``, ``missing-property``, ``bad-property``,
``bad-expression``, ``too-deep``, ``endless-loop`` (activities); ``unknown-activity``,
``not-upstream``, ``unknown-field``, ``unknown-runbook-field``,
``several-values`` (references); ``no-start``, ``multiple-starts``, ``disabled-start``, ``cycle``,
``monitor-not-start``, ``initialize-not-start`` (graph); ``bad-operand``,
``bad-regex``, ``bad-operator`` (conditions); ``bad-parameter``,
``duplicate-parameter``, ``bad-default``, ``undeclared-return``,
``not-linked`` (core activity rules); ``missing-parameter``,
``unknown-parameter`` (job parameters); ``bad-test-name``, ``duplicate-test``
(test cases, whose parameters and expectations reuse ``unknown-parameter``,
``missing-parameter``, ``bad-parameter``, ``undeclared-return``,
``unknown-activity``).
"""

from __future__ import annotations

import re

import msgspec

from orch.document.model import FORMAT, OPERATORS
from orch.document.properties import child_path
from orch.document.values import PARAMETER_TYPES
from orch.errors import DocumentError


class Fault(msgspec.Struct, frozen=True):
    path: str
    """JSON path into the document, like ``$.activities[2].properties.args[0]``."""
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DocumentInvalid(DocumentError):
    """The runbook document is invalid."""

    def __init__(self, faults: list[Fault]) -> None:
        self.faults = list(faults)
        first = self.faults[0] if self.faults else None
        more = len(self.faults) - 1
        message = first.message if first else "the runbook document is invalid"
        if more > 0:
            message += f" (and {more} more fault{'s' if more > 1 else ''})"
        super().__init__(message, path=first.path if first else None)


_AT = re.compile(r"^(?P<reason>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.S)
_MISSING = re.compile(r"Object missing required field `(?P<key>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]+)`")
_EXPECTED = re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`")
_ENUM = re.compile(r"Invalid enum value (?P<value>.+)")
_WORDS = {
    "str": "text",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def _words(types: str) -> str:
    parts = [_WORDS.get(t.strip(), t.strip()) for t in types.split("|")]
    return " or ".join(dict.fromkeys(parts))


def from_msgspec(error: str, *, base: str = "$", code: str | None = None) -> Fault:
    """A Fault from a msgspec error message, its path appended to ``base``.

    ``Object missing required field `id` - at `$.activities[0]``` becomes
    ``$.activities[0].id: required key 'id' is missing``.
    """
    m = _AT.match(error)
    reason = m.group("reason") if m else error
    path = base + ((m.group("path") or "$")[1:] if m else "")
    if mm := _MISSING.fullmatch(reason):
        key = mm.group("key")
        return Fault(
            child_path(path, key), f"required key {key!r} is missing", code or "missing-key"
        )
    if mm := _UNKNOWN.fullmatch(reason):
        key = mm.group("key")
        return Fault(child_path(path, key), f"unknown key {key!r}", code or "unknown-key")
    if mm := _EXPECTED.fullmatch(reason):
        message = f"expected {_words(mm.group('want'))}, got {_words(mm.group('got'))}"
        return Fault(path, message, code or "wrong-type")
    if mm := _ENUM.fullmatch(reason):
        return Fault(
            path, f"{mm.group('value')} is not allowed{_allowed(path)}", code or "bad-value"
        )
    return Fault(path, reason[:1].lower() + reason[1:], code or "bad-value")


def _allowed(path: str) -> str:
    """The allowed values of the document's enumerations, by where they occur."""
    if path.endswith(".op"):
        return f" (operators: {', '.join(OPERATORS)})"
    if path.endswith(".type") and (".returns[" in path or ".parameters[" in path):
        return f" (types: {', '.join(PARAMETER_TYPES)})"
    if path == "$.format":
        return f" (expected {FORMAT!r})"
    return ""
