"""Entry points for checking documents: validate, load, and a job's parameters.

``load`` is what check-in, ``orch runbook validate`` and ``orch test`` use:
decode (type faults with their JSON path), then every rule of the checker,
then compile — raising one ``DocumentInvalid`` that lists all faults.
"""

from __future__ import annotations

from typing import Any

import msgspec

from orch.document.checker import analyze
from orch.document.faults import DocumentInvalid, Fault, from_msgspec
from orch.document.graph import CompiledRunbook, build
from orch.document.model import Runbook, convert, decode
from orch.document.properties import child_path
from orch.document.values import canonical
from orch.sdk.registry import Registry, default_registry

__all__ = ["DocumentInvalid", "Fault", "decode_document", "load", "parse_parameters", "validate"]


def validate(runbook: Runbook, registry: Registry) -> list[Fault]:
    """Every fault of a decoded runbook (empty when it is valid)."""
    return analyze(runbook, registry).faults


def decode_document(data: bytes | str | dict[str, Any]) -> Runbook:
    """Decode JSON text (or parsed JSON) into a Runbook; raises DocumentInvalid with paths."""
    try:
        if isinstance(data, dict):
            return convert(data)
        return decode(data)
    except msgspec.ValidationError as e:
        raise DocumentInvalid([from_msgspec(str(e))]) from None
    except msgspec.DecodeError as e:
        reason = str(e).removeprefix("JSON is malformed: ")
        raise DocumentInvalid([Fault("$", f"not valid JSON: {reason}", "bad-json")]) from None
    except RecursionError:
        raise DocumentInvalid(
            [Fault("$", "the document is nested too deeply to read", "too-deep")]
        ) from None


def load(data: bytes | str | dict[str, Any], registry: Registry | None = None) -> CompiledRunbook:
    """Decode, validate and compile a runbook document; raises DocumentInvalid.

    ``registry`` defaults to the installed packs (``default_registry()``).
    """
    runbook = decode_document(data)
    analysis = analyze(runbook, registry if registry is not None else default_registry())
    if analysis.faults:
        raise DocumentInvalid(analysis.faults)
    return build(analysis)


def parse_parameters(compiled: CompiledRunbook, given: dict[str, Any]) -> dict[str, str]:
    """A job's parameters checked against the declared ones, as canonical text.

    Unknown names and missing required ones are faults (paths like
    ``$.parameters.Count``); absent optional ones take their default, or
    empty text. Integers come out in decimal, booleans ``true``/``false``,
    times RFC 3339 UTC.
    """
    faults: list[Fault] = []
    out: dict[str, str] = {}
    declared = {p.name: p for p in compiled.parameters}
    for name in given:
        if name not in declared:
            names = ", ".join(declared) or "none"
            faults.append(
                Fault(
                    child_path("$.parameters", name),
                    f"the runbook has no parameter {name!r} (its parameters: {names})",
                    "unknown-parameter",
                )
            )
    for p in compiled.parameters:
        path = child_path("$.parameters", p.name)
        required = p.required if p.required is not None else p.default is None
        try:
            if p.name in given:
                out[p.name] = canonical(given[p.name], p.type)
            elif required:
                faults.append(
                    Fault(path, f"the parameter {p.name!r} is required", "missing-parameter")
                )
            elif p.default is not None:
                out[p.name] = canonical(p.default, p.type)
            else:
                out[p.name] = ""
        except ValueError as e:
            faults.append(Fault(path, str(e), "bad-parameter"))
    if faults:
        raise DocumentInvalid(faults)
    return out
