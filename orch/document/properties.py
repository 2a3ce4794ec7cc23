"""An activity's ``properties`` compiled once: every string becomes a Template.

The tree mirrors the JSON (objects, lists, scalars). Object keys stay literal
(environment variable names, returned-data names): only values are
expressions. ``render`` gives plain JSON values back, ready to be converted
into the activity type's Inputs Struct.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orch.document.expr import NestingError, Scope, Template, Text, parse_template
from orch.errors import ExpressionError

_EMPTY: frozenset[Any] = frozenset()

MAX_DEPTH = 64
"""How deeply objects and lists may nest in properties."""


def child_path(path: str, key: str | int) -> str:
    """``$.a`` + ``b`` → ``$.a.b``; odd keys are quoted (``$.env["MY-VAR"]``); ints index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'


class PropertyTree:
    """A compiled JSON value: dict → dict of trees, list → list of trees, str → Template."""

    __slots__ = ("_value", "path", "references", "runbook_fields", "variables")

    def __init__(self, value: Any, path: str) -> None:
        """``value`` is already compiled (see :func:`compile_properties`)."""
        self._value = value
        self.path = path
        refs: set[tuple[str, str]] = set()
        runbook: set[str] = set()
        variables: set[str] = set()
        for t in self.templates():
            refs |= t.references
            runbook |= t.runbook_fields
            variables |= t.variables
        self.references: frozenset[tuple[str, str]] = frozenset(refs) if refs else _EMPTY
        self.runbook_fields: frozenset[str] = frozenset(runbook) if runbook else _EMPTY
        self.variables: frozenset[str] = frozenset(variables) if variables else _EMPTY

    def __repr__(self) -> str:
        return f"PropertyTree({self.path})"

    @property
    def is_literal(self) -> bool:
        """True when no string needs substituting (no references or calls)."""
        return all(t.literal is not None for t in self.templates())

    def keys(self) -> list[str]:
        return list(self._value) if isinstance(self._value, dict) else []

    def get(self, key: str) -> PropertyTree | None:
        """The subtree under an object key (None when absent or not an object)."""
        if isinstance(self._value, dict):
            return self._value.get(key)
        return None

    def __getitem__(self, key: str | int) -> PropertyTree:
        if isinstance(self._value, dict | list):
            return self._value[key]  # type: ignore[index]
        raise TypeError(f"{self.path} is not an object or a list")

    def templates(self) -> Iterator[Template]:
        """Every Template in the tree, in document order (each knows its path)."""
        v = self._value
        if isinstance(v, Template):
            yield v
        elif isinstance(v, dict):
            for child in v.values():
                yield from child.templates()
        elif isinstance(v, list):
            for child in v:
                yield from child.templates()

    def render(self, scope: Scope) -> Any:
        """Plain JSON with every string rendered against ``scope``."""
        v = self._value
        if isinstance(v, Template):
            return v.render(scope)
        if isinstance(v, dict):
            return {k: child.render(scope) for k, child in v.items()}
        if isinstance(v, list):
            return [child.render(scope) for child in v]
        return v

    def literal_value(self) -> Any | None:
        """The plain JSON value (escapes resolved) when nothing needs substituting, else None.

        A literal ``null`` also gives None; use ``is_literal`` to tell them apart.
        """
        if not self.is_literal:
            return None
        return self._literal()

    def _literal(self) -> Any:
        v = self._value
        if isinstance(v, Template):
            return v.literal
        if isinstance(v, dict):
            return {k: child._literal() for k, child in v.items()}
        if isinstance(v, list):
            return [child._literal() for child in v]
        return v


def compile_properties(value: Any, *, path: str) -> PropertyTree:
    """Compile a JSON value; raises the first ExpressionError (with its path)."""
    errors: list[ExpressionError] = []
    tree = compile_properties_all(value, path=path, errors=errors)
    if errors:
        raise errors[0]
    return tree


def compile_properties_all(
    value: Any, *, path: str, errors: list[ExpressionError], depth: int = 0
) -> PropertyTree:
    """Compile a JSON value, appending every ExpressionError to ``errors``.

    A string that fails to parse is kept as literal text in the tree, so the
    caller still gets a tree to inspect (the validator reports all faults).
    A part nested deeper than ``MAX_DEPTH`` is a NestingError and left out.
    """
    if isinstance(value, str):
        try:
            compiled: Any = parse_template(value, path=path)
        except ExpressionError as e:
            errors.append(e)
            compiled = Template(value, (Text(value),), path)
        return PropertyTree(compiled, path)
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        errors.append(NestingError(f"nested more than {MAX_DEPTH} levels deep", path=path))
        return PropertyTree(None, path)
    if isinstance(value, dict):
        return PropertyTree(
            {
                k: compile_properties_all(
                    v, path=child_path(path, k), errors=errors, depth=depth + 1
                )
                for k, v in value.items()
            },
            path,
        )
    if isinstance(value, list):
        return PropertyTree(
            [
                compile_properties_all(v, path=child_path(path, i), errors=errors, depth=depth + 1)
                for i, v in enumerate(value)
            ],
            path,
        )
    return PropertyTree(value, path)
