"""The expression language of runbook properties (DESIGN.md "Expressions").

A property string is parsed once, at check-in, into a :class:`Template`: a
tuple of nodes (literal text, references, data-function calls). A run only
walks that tree, so a substituted value is never parsed again — published
data containing ``{`` or ``[`` is inert.

Text is literal unless it is a reference or a call (the full rule, with its
edge cases, is in orch/document/README.md "Expressions"):

- ``{`` starts a reference only when what follows up to the next ``}`` has
  the exact shape ``{id.Field}`` (a field published upstream),
  ``{runbook.Field}`` or ``{variable:Name}``. ``{ $_ }``, ``@{a=1}``,
  ``${VAR}``, ``{"a": 1}`` are text.
- ``[`` starts a data-function call only when it is immediately followed by
  a known function name (any case) and ``(``: ``[Upper(``. ``[int]$n``,
  ``$args[0]``, ``[ -n "$x" ]`` are text. Once started, a call must parse: an
  argument is one or more terms written side by side and joined —
  ``'quoted text'`` (``''`` writes a quote), a number, a reference or a
  nested ``[Fn(...)]`` call — and a malformed one is an error naming its
  position.
- ``{{``, ``[[`` write one ``{``, ``[``. ``}}``, ``]]`` write one ``}``, ``]``
  — except while a ``{`` (``[``) written as plain text is still open: then
  they are two closing braces (brackets), as written, so ``{"a": {"b": 1}}``
  and ``a[b[0]]`` mean themselves. Documents written before this rule (every
  brace doubled) keep their meaning: they have no plain ``{`` or ``[``.
  A single closer that meets no plain opener while an escape ``{{`` / ``[[``
  (hiding no shape) waits for its pair is an error: the opener was meant as
  two (``m = [[1], [2]]``).

:func:`escape_literal` gives the template text that renders a given text
exactly (importers use it for scripts and bodies).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from dataclasses import field as _field
from typing import Protocol

from orch.document.functions import DataFunction, FunctionError, lookup
from orch.errors import ExpressionError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
"""Global variable names: an identifier that may also hold ``.`` and ``-``."""
RUNBOOK_FIELDS: frozenset[str] = frozenset({"JobId", "InstanceId", "Name", "Server"})
"""What ``{runbook.X}`` may name."""

MAX_CALL_DEPTH = 32
"""How deeply data-function calls may nest (keeps evaluation off Python's recursion limit)."""

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_SPACE = " \t\r\n"


class NestingError(ExpressionError):
    """The expression or value is nested too deeply."""


class Scope(Protocol):
    """Where a template's references get their values during a run.

    Implementations raise ``ExpressionError`` (or ``KeyError``) when a value
    is missing; ``render`` reports either as an ``ExpressionError``.
    """

    def value(self, activity: str, field: str) -> str: ...

    def runbook(self, field: str) -> str: ...

    def variable(self, name: str) -> str: ...


@dataclass(frozen=True, slots=True)
class MappingScope:
    """A Scope over plain mappings (the tester, tests, tools)."""

    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    runbook_data: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)

    def value(self, activity: str, field: str) -> str:
        return self.values[activity][field]

    def runbook(self, field: str) -> str:
        return self.runbook_data[field]

    def variable(self, name: str) -> str:
        return self.variables[name]


# ---- the tree --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class ActivityRef:
    activity: str
    field: str
    at: int = _field(default=0, compare=False)
    """Where the reference starts in the template's source (0-based)."""

    def __str__(self) -> str:
        return f"{{{self.activity}.{self.field}}}"


@dataclass(frozen=True, slots=True)
class RunbookRef:
    field: str
    at: int = _field(default=0, compare=False)
    """Where the reference starts in the template's source (0-based)."""

    def __str__(self) -> str:
        return f"{{runbook.{self.field}}}"


@dataclass(frozen=True, slots=True)
class VariableRef:
    name: str
    at: int = _field(default=0, compare=False)
    """Where the reference starts in the template's source (0-based)."""

    def __str__(self) -> str:
        return f"{{variable:{self.name}}}"


@dataclass(frozen=True, slots=True)
class Call:
    function: DataFunction
    args: tuple[tuple[Node, ...], ...]
    """Each argument is a sequence of terms whose values are joined."""
    source: str
    """The call as written, for error messages."""


Node = Text | ActivityRef | RunbookRef | VariableRef | Call


def _walk(nodes: tuple[Node, ...]) -> Iterator[Node]:
    for node in nodes:
        yield node
        if isinstance(node, Call):
            for arg in node.args:
                yield from _walk(arg)


class Template:
    """A parsed property string: immutable, rendered once per activity run."""

    __slots__ = ("literal", "nodes", "path", "references", "runbook_fields", "source", "variables")

    source: str
    path: str
    nodes: tuple[Node, ...]
    references: frozenset[tuple[str, str]]
    runbook_fields: frozenset[str]
    variables: frozenset[str]
    literal: str | None

    def __init__(self, source: str, nodes: tuple[Node, ...], path: str = "$") -> None:
        setattr_ = object.__setattr__
        setattr_(self, "source", source)
        setattr_(self, "path", path)
        setattr_(self, "nodes", nodes)
        walked = list(_walk(nodes))
        setattr_(
            self,
            "references",
            frozenset((n.activity, n.field) for n in walked if isinstance(n, ActivityRef)),
        )
        setattr_(
            self, "runbook_fields", frozenset(n.field for n in walked if isinstance(n, RunbookRef))
        )
        setattr_(self, "variables", frozenset(n.name for n in walked if isinstance(n, VariableRef)))
        literal = None
        if all(isinstance(n, Text) for n in nodes):
            literal = "".join(n.value for n in nodes)  # type: ignore[union-attr]
        setattr_(self, "literal", literal)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Template is immutable")

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    @property
    def calls(self) -> frozenset[str]:
        """Names of the data functions used (nested ones included)."""
        return frozenset(n.function.name for n in _walk(self.nodes) if isinstance(n, Call))

    def reference_positions(self) -> list[tuple[str, str, int]]:
        """``(activity, field, position)`` of every ``{id.Field}``, in source order (0-based)."""
        walked = _walk(self.nodes)
        refs = [(n.activity, n.field, n.at) for n in walked if isinstance(n, ActivityRef)]
        return sorted(refs, key=lambda r: r[2])

    def render(self, scope: Scope) -> str:
        """The text with every reference and call substituted."""
        if self.literal is not None:
            return self.literal
        return "".join(self._node(node, scope) for node in self.nodes)

    def _node(self, node: Node, scope: Scope) -> str:
        if isinstance(node, Text):
            return node.value
        if isinstance(node, Call):
            return self._call(node, scope)
        try:
            if isinstance(node, ActivityRef):
                value = scope.value(node.activity, node.field)
            elif isinstance(node, RunbookRef):
                value = scope.runbook(node.field)
            else:
                value = scope.variable(node.name)
        except ExpressionError as e:
            raise ExpressionError(
                f"{node}: {e.message} (in {self.source!r})", path=self.path
            ) from e
        except KeyError:
            raise ExpressionError(
                f"{node} has no value (in {self.source!r})", path=self.path
            ) from None
        return value if isinstance(value, str) else str(value)

    def _call(self, call: Call, scope: Scope) -> str:
        values = ["".join(self._node(term, scope) for term in arg) for arg in call.args]
        try:
            return call.function.impl(values)
        except FunctionError as e:
            where = f"{call.function.name}"
            if e.argument is not None:
                where += f" argument {e.argument}"
            raise ExpressionError(
                f"{where}: {e.message} (in {call.source!r})", path=self.path
            ) from e


def parse_template(text: str, *, path: str = "$") -> Template:
    """Parse a property string; raises ExpressionError naming the position (1-based)."""
    return Template(text, _Parser(text, path).template(), path)


# ---- the parser ------------------------------------------------------------------------------


_REFERENCE = re.compile(
    r"\{(?:variable:([A-Za-z_][A-Za-z0-9_.\-]*)|([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*))\}"
)
"""The exact shape of a reference: ``{variable:Name}`` or ``{head.Field}``."""
_CALL_START = re.compile(r"\[([A-Za-z_][A-Za-z0-9_]*)\(")
"""``[Name(``: a call when ``Name`` is a known function."""
_SPECIAL = re.compile(r"[{}\[\]]")


def _reference_at(text: str, i: int) -> re.Match[str] | None:
    return _REFERENCE.match(text, i)


def _call_at(text: str, i: int) -> bool:
    m = _CALL_START.match(text, i)
    return m is not None and lookup(m.group(1)) is not None


def _hides_shape(text: str, j: int) -> bool:
    """Whether the escape ``{{`` / ``[[`` at ``j`` hides a reference or call shape."""
    return bool(_reference_at(text, j + 1)) if text[j] == "{" else _call_at(text, j + 1)


_PAIR = {"{": 0, "}": 0, "[": 1, "]": 1}
_OPEN = "{["


def escape_literal(text: str) -> str:
    """The template text that renders exactly ``text``.

    Escapes only what the parser would otherwise read as a reference, a call
    or an escape, so a script stays as readable as it was: ``d = {"a": [1]}``
    comes back unchanged, ``{a.b}`` becomes ``{{a.b}``, ``[Upper(`` becomes
    ``[[Upper(``, ``[[ -f x ]]`` becomes ``[[[ -f x ]]`` and a ``}}`` with no
    plain ``{`` open becomes ``}}}``. It follows the parser's bookkeeping (see
    ``_Parser.template``) character by character.
    """
    out: list[str] = []
    n = len(text)
    plain = [0, 0]  # plain '{' / '[' the parser will count as open
    pending = [0, 0]  # escaped openers ('{{' / '[[' hiding no shape) not yet closed
    i = 0
    while i < n:
        m = _SPECIAL.search(text, i)
        if m is None:
            out.append(text[i:])
            break
        j = m.start()
        if j > i:
            out.append(text[i:j])
        c = text[j]
        k = _PAIR[c]
        nxt = text[j + 1] if j + 1 < n else ""
        i = j + 1
        if c in _OPEN:
            if nxt == c:
                out.append(c + c)
                pending[k] += 1
            elif _reference_at(text, j) if k == 0 else _call_at(text, j):
                out.append(c + c)
            else:
                out.append(c)
                plain[k] += 1
        elif nxt == c and plain[k]:
            out.append(c + c)  # two plain closers, as written
            plain[k] = max(0, plain[k] - 2)
            i = j + 2
        elif nxt == c or (not plain[k] and pending[k]):
            out.append(c + c)  # the escape of one closer
            pending[k] = max(0, pending[k] - 1)
        else:
            out.append(c)
            plain[k] = max(0, plain[k] - 1)
    return "".join(out)


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.depth = 0

    def fail(
        self, pos: int, message: str, error: type[ExpressionError] = ExpressionError
    ) -> ExpressionError:
        text = self.text
        if len(text) <= 60:
            where = f"of {text!r}"
        else:
            lo, hi = max(0, pos - 25), min(len(text), pos + 25)
            excerpt = ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")
            where = f"near {excerpt!r}"
        return error(f"{message} at position {pos + 1} {where}", path=self.path)

    def template(self) -> tuple[Node, ...]:
        """The whole text: literal runs, references and calls (see the module docstring).

        Per kind (braces, brackets) two counts decide what a closer means:
        ``plain``, the plain ``{`` / ``[`` still open (``}}`` / ``]]`` is then
        two closers as written), and ``pending``, the escapes ``{{`` / ``[[``
        that hide no reference or call shape and are not closed yet. A single
        closer with no plain opener but an escape pending means an opener was
        doubled by mistake (``m = [[1], [2]]`` would lose a bracket): a fault
        naming both positions. Documents with every brace doubled never meet
        it: they have no single closer.
        """
        text = self.text
        n = len(text)
        nodes: list[Node] = []
        buf: list[str] = []
        plain = [0, 0]
        pending: list[list[int]] = [[], []]
        i = 0
        while i < n:
            m = _SPECIAL.search(text, i)
            if m is None:
                buf.append(text[i:])
                break
            j = m.start()
            if j > i:
                buf.append(text[i:j])
            c = text[j]
            k = _PAIR[c]
            nxt = text[j + 1] if j + 1 < n else ""
            if c in _OPEN:
                if nxt == c:
                    buf.append(c)
                    if not _hides_shape(text, j):
                        pending[k].append(j)
                    i = j + 2
                    continue
                node: Node | None = None
                if k == 0:
                    if ref := _reference_at(text, j):
                        node, i = self.reference_node(ref), ref.end()
                elif _call_at(text, j):
                    node, i = self.call(j)
                if node is None:
                    buf.append(c)
                    plain[k] += 1
                    i = j + 1
                    continue
                if buf:
                    nodes.append(Text("".join(buf)))
                    buf.clear()
                nodes.append(node)
            elif nxt == c and plain[k]:
                buf.append(c + c)
                plain[k] = max(0, plain[k] - 2)
                i = j + 2
            elif nxt == c:
                buf.append(c)
                if pending[k]:
                    pending[k].pop()
                i = j + 2
            else:
                if plain[k]:
                    plain[k] -= 1
                elif pending[k]:
                    o = "{" if k == 0 else "["
                    raise self.fail(
                        pending[k][-1],
                        f"{o + o!r} writes one {o!r}, so the {c!r} at position {j + 1} closes "
                        f"nothing: to write {o + o!r} as two, write {o * 3!r}",
                    )
                buf.append(c)
                i = j + 1
        if buf:
            nodes.append(Text("".join(buf)))
        return tuple(nodes)

    def reference_node(self, m: re.Match[str]) -> Node:
        start = m.start()
        variable, head, name = m.groups()
        if variable is not None:
            return VariableRef(variable, at=start)
        if head == "runbook":
            return RunbookRef(name, at=start)
        if head == "variable":
            raise self.fail(
                start,
                f"write {{variable:{name}}} for a variable "
                f"(or {{{{variable.{name}}} for the text itself)",
            )
        return ActivityRef(head, name, at=start)

    def reference(self, start: int) -> tuple[Node, int]:
        """A reference that must be one (inside a call's arguments)."""
        m = _reference_at(self.text, start)
        if m is None:
            end = self.text.find("}", start + 1)
            body = self.text[start + 1 : end] if end >= 0 else self.text[start + 1 :]
            raise self.fail(
                start,
                f"bad reference {{{body}{'}' if end >= 0 else ''}: expected {{activity.Field}}, "
                "{runbook.Field} or {variable:Name} (quote text in a function's arguments)",
            )
        return self.reference_node(m), m.end()

    def skip_space(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in _SPACE:
            i += 1
        return i

    def call(self, start: int) -> tuple[Call, int]:
        """``[Fn(args)]`` at ``start``; returns the node and the index after ``]``."""
        if self.depth >= MAX_CALL_DEPTH:
            raise self.fail(
                start, f"data functions nested more than {MAX_CALL_DEPTH} deep", NestingError
            )
        self.depth += 1
        try:
            return self._call(start)
        finally:
            self.depth -= 1

    def _call(self, start: int) -> tuple[Call, int]:
        text = self.text
        i = self.skip_space(start + 1)
        m = IDENTIFIER.match(text, i)
        if not m:
            raise self.fail(start, "expected a function call like [Upper('text')] after '['")
        name = m.group()
        paren = self.skip_space(m.end())
        if paren >= len(text) or text[paren] != "(":
            raise self.fail(paren, f"expected '(' after {name}")
        function = lookup(name)
        if function is None:
            raise self.fail(i, f"unknown function {name!r}")
        hint = f" (write '[[' for a literal '[' before {name})"
        i = paren
        args: list[tuple[Node, ...]] = []
        i = self.skip_space(i + 1)
        if i < len(text) and text[i] == ")":
            i += 1
        else:
            while True:
                arg, i = self.argument(i, function.name, hint)
                args.append(arg)
                i = self.skip_space(i)
                if i < len(text) and text[i] == ",":
                    i = self.skip_space(i + 1)
                    continue
                if i < len(text) and text[i] == ")":
                    i += 1
                    break
                raise self.fail(i, f"expected ',' or ')' in the arguments of {function.name}{hint}")
        i = self.skip_space(i)
        if i >= len(text) or text[i] != "]":
            raise self.fail(i, f"expected ']' to close [{function.name}(...){hint}")
        count = len(args)
        if count < function.min_args or (
            function.max_args is not None and count > function.max_args
        ):
            raise self.fail(
                start,
                f"{function.signature} takes {function.arity_text()}, got {count}",
            )
        return Call(function, tuple(args), text[start : i + 1]), i + 1

    def argument(self, i: int, function: str, hint: str) -> tuple[tuple[Node, ...], int]:
        """One argument: terms side by side up to ``,`` or ``)``."""
        text = self.text
        terms: list[Node] = []
        while True:
            i = self.skip_space(i)
            if i >= len(text):
                raise self.fail(i, f"unclosed arguments of {function}{hint}")
            c = text[i]
            if c in ",)":
                if not terms:
                    raise self.fail(i, f"missing argument to {function}")
                return tuple(terms), i
            if c == "'":
                value, i = self.quoted(i)
                terms.append(Text(value))
            elif c == "{":
                node, i = self.reference(i)
                terms.append(node)
            elif c == "[":
                node, i = self.call(i)
                terms.append(node)
            elif m := _NUMBER.match(text, i):
                terms.append(Text(m.group()))
                i = m.end()
            else:
                raise self.fail(
                    i,
                    f"unexpected {c!r} in the arguments of {function} "
                    f"(quote text: 'like this'){hint}",
                )

    def quoted(self, start: int) -> tuple[str, int]:
        text = self.text
        out: list[str] = []
        i = start + 1
        while True:
            j = text.find("'", i)
            if j < 0:
                raise self.fail(start, "unclosed quoted text (write '' for a quote inside it)")
            out.append(text[i:j])
            if j + 1 < len(text) and text[j + 1] == "'":
                out.append("'")
                i = j + 2
                continue
            return "".join(out), j + 1
