"""Text semantics shared with runbook documents, for activities.

Link conditions and ``compare_values`` must agree on what ``lt`` or
``matches`` means, and ``initialize_data`` must read parameters exactly as a
job start does; both come from the document layer's single definition.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from orch.document.conditions import CompiledCondition, compile_condition
from orch.document.model import Condition
from orch.document.values import canonical
from orch.errors import ActivityError, DocumentError


def compare(value: str, op: str, to: str | list[str]) -> bool:
    """Test ``value op to`` with the link-condition semantics (case-sensitive;
    numeric order when both sides are numbers; ``between`` takes ``[low, high]``)."""
    operand = tuple(to) if isinstance(to, list) else to
    return _compiled(op, operand).test({"value": value})


@lru_cache(maxsize=1024)
def _compiled(op: str, operand: str | tuple[str, ...]) -> CompiledCondition:
    # compiled once per (op, operand): a regex is not recompiled per run
    to = list(operand) if isinstance(operand, tuple) else operand
    try:
        return compile_condition(Condition(data="value", op=op, value=to), path="$")  # type: ignore[arg-type]
    except DocumentError as exc:
        raise ActivityError(exc.message) from None


def parameter_text(value: Any, type_name: str) -> str:
    """Canonical text of a parameter value of a declared type (raises ValueError)."""
    return canonical(value, type_name)
