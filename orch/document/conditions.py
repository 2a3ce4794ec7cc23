"""Link and loop conditions, compiled once (regexes included) and tested per item.

Values are text (SCO): comparisons are case-sensitive; ``lt le gt ge between``
compare as numbers when both sides read as numbers, else as text;
``between`` is inclusive. A field the item does not have compares as ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from orch.document.model import DEFAULT_INCLUDE, OPERATORS, Condition, Link, Scalar, as_text
from orch.document.values import parse_number
from orch.errors import DocumentError

_Test = Callable[[str], bool]


class ConditionError(DocumentError):
    """The condition is invalid."""

    def __init__(self, message: str, *, path: str, code: str) -> None:
        super().__init__(message, path=path)
        self.code = code


def _order(left: str, right: str) -> int:
    """-1/0/1: numerically when both are numbers, else by text."""
    a, b = parse_number(left), parse_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    return (left > right) - (left < right)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledCondition:
    data: str
    op: str
    value: str | tuple[str, str]
    """The operand as text; ``between`` has ``(low, high)``."""
    path: str
    _test: _Test

    def test(self, item: Mapping[str, str]) -> bool:
        """Does the item's ``data`` field satisfy the condition? (missing field = "")."""
        return self._test(item.get(self.data, ""))

    def __str__(self) -> str:
        if isinstance(self.value, tuple):
            return f"{self.data} between {self.value[0]!r} and {self.value[1]!r}"
        return f"{self.data} {self.op} {self.value!r}"


def _operand_text(value: Scalar | list[Scalar], op: str, path: str) -> str | tuple[str, str]:
    where = f"{path}.value"
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError(
                "'between' takes two values: [low, high]", path=where, code="bad-operand"
            )
        if any(isinstance(v, list | dict) or v is None for v in value):
            raise ConditionError(
                "'between' bounds must be text or numbers", path=where, code="bad-operand"
            )
        return as_text(value[0]), as_text(value[1])
    if isinstance(value, list | dict) or value is None:
        raise ConditionError(
            f"{op!r} takes one value, not a list (only 'between' takes [low, high])",
            path=where,
            code="bad-operand",
        )
    return as_text(value)


def _build_test(op: str, operand: str | tuple[str, str], path: str) -> _Test:
    if isinstance(operand, tuple):
        low, high = operand
        return lambda v: _order(v, low) >= 0 and _order(v, high) <= 0
    if op in ("matches", "not_matches"):
        try:
            rx = re.compile(operand)
        except re.error as e:
            raise ConditionError(
                f"bad regular expression {operand!r}: {e}", path=f"{path}.value", code="bad-regex"
            ) from None
        if op == "matches":
            return lambda v: rx.search(v) is not None
        return lambda v: rx.search(v) is None
    tests: dict[str, _Test] = {
        "equals": lambda v: v == operand,
        "not_equals": lambda v: v != operand,
        "contains": lambda v: operand in v,
        "not_contains": lambda v: operand not in v,
        "starts_with": lambda v: v.startswith(operand),
        "ends_with": lambda v: v.endswith(operand),
        "lt": lambda v: _order(v, operand) < 0,
        "le": lambda v: _order(v, operand) <= 0,
        "gt": lambda v: _order(v, operand) > 0,
        "ge": lambda v: _order(v, operand) >= 0,
    }
    try:
        return tests[op]
    except KeyError:
        raise ConditionError(
            f"unknown operator {op!r} (expected one of {', '.join(OPERATORS)})",
            path=f"{path}.op",
            code="bad-operator",
        ) from None


def compile_condition(c: Condition, *, path: str) -> CompiledCondition:
    """Compile one condition; raises ConditionError (with the operand's path) when it is bad."""
    operand = _operand_text(c.value, c.op, path)
    return CompiledCondition(c.data, c.op, operand, path, _build_test(c.op, operand, path))


@dataclass(frozen=True, slots=True, eq=False)
class CompiledLink:
    source: str
    target: str
    index: int
    """Position in the document's ``links``."""
    name: str | None
    include: tuple[CompiledCondition, ...] | None
    """None: followed whatever the status (the document said ``include: []``)."""
    exclude: tuple[CompiledCondition, ...]
    delay_seconds: float
    enabled: bool = True
    """False: never followed (the link, or the activity it leads to, is disabled)."""

    @property
    def path(self) -> str:
        return f"$.links[{self.index}]"

    def followed(self, item: Mapping[str, str]) -> bool:
        """Include conditions OR-ed (absent: ``Status equals success``), exclude OR-ed as veto."""
        if not self.enabled:
            return False
        include = self.include
        if include is not None:
            # one include (the default's case) without a generator: it runs per item
            if len(include) == 1:
                if not include[0].test(item):
                    return False
            elif not any(c.test(item) for c in include):
                return False
        exclude = self.exclude
        return not exclude or not any(c.test(item) for c in exclude)

    def explain(self, item: Mapping[str, str]) -> str:
        """Why the link is or is not followed for this item (for the tester)."""
        label = f"link {self.source} → {self.target}"
        if not self.enabled:
            return f"{label} not followed: it is disabled (or leads to a disabled activity)"
        for c in self.exclude:
            if c.test(item):
                return f"{label} not followed: excluded by {c} ({_shown(c, item)})"
        if self.include is None:
            return f"{label} followed: it has no include condition"
        for c in self.include:
            if c.test(item):
                return f"{label} followed: {c} ({_shown(c, item)})"
        shown = "; ".join(f"{c} ({_shown(c, item)})" for c in self.include)
        return f"{label} not followed: no include condition holds: {shown}"


def _shown(c: CompiledCondition, item: Mapping[str, str]) -> str:
    if c.data not in item:
        return f"{c.data} is not published, read as ''"
    return f"{c.data} is {item[c.data]!r}"


def compile_link(
    link: Link,
    index: int,
    *,
    errors: list[ConditionError] | None = None,
    target_enabled: bool = True,
) -> CompiledLink:
    """Compile a link's conditions.

    The link is disabled when the document says so or its target is disabled.
    Raises ConditionError for the first bad condition; with ``errors`` given,
    appends every bad one there instead (the returned link then lacks them).
    """
    path = f"$.links[{index}]"
    include: tuple[CompiledCondition, ...] | None
    if link.include is None:
        include = compile_conditions(DEFAULT_INCLUDE, path=f"{path}.include")
    elif not link.include:
        include = None
    else:
        include = compile_conditions(link.include, path=f"{path}.include", errors=errors)
    return CompiledLink(
        source=link.from_,
        target=link.to,
        index=index,
        name=link.name,
        include=include,
        exclude=compile_conditions(link.exclude, path=f"{path}.exclude", errors=errors),
        delay_seconds=link.delay_seconds,
        enabled=link.enabled and target_enabled,
    )


def compile_conditions(
    conditions: Sequence[Condition], *, path: str, errors: list[ConditionError] | None = None
) -> tuple[CompiledCondition, ...]:
    """Compile a list of conditions (see :func:`compile_link` for ``errors``)."""
    out: list[CompiledCondition] = []
    for i, c in enumerate(conditions):
        try:
            out.append(compile_condition(c, path=f"{path}[{i}]"))
        except ConditionError as e:
            if errors is None:
                raise
            errors.append(e)
    return tuple(out)
