"""Text is literal unless it is a reference or a call: the parser and escape_literal."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from orch.document.expr import MappingScope, escape_literal, parse_template
from orch.document.functions import FUNCTIONS

SCOPE = MappingScope(
    values={"a": {"b": "<A.B>"}, "start": {"Name": "<NAME>"}},
    runbook_data={"Name": "<RB>"},
    variables={"X": "<X>"},
)

_NAMES = sorted(FUNCTIONS, key=len, reverse=True)
_SHAPED = re.compile(
    r"\{(?:variable:[A-Za-z_][A-Za-z0-9_.\-]*|[A-Za-z_]\w*\.[A-Za-z_]\w*)\}|\{\{|\}\}|\[\[|\]\]"
    r"|\[(?:" + "|".join(_NAMES) + r")\(",
    re.IGNORECASE | re.ASCII,
)
"""A reference shape, a call start or an escape anywhere in the text."""

# Text built from the characters that matter (braces, brackets, name characters, the
# separators of the shapes) so that shapes actually occur, plus any other text.
_PIECES = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        "a",
        "b",
        ".",
        ":",
        "(",
        ")",
        "'",
        " ",
        "\n",
        "$",
        "_",
        "-",
        "variable",
        "runbook",
        "start",
        "Name",
        "Upper",
        "len",
        "Sum",
        "{a.b}",
        "{variable:X}",
        "[Upper(",
        "[len(",
        "{{",
        "}}",
        "[[",
        "]]",
        "é",
        "\u2028",
    ]
)
TEXTS = st.one_of(
    st.lists(_PIECES, max_size=40).map("".join),
    st.text(max_size=60),
    st.text(alphabet="{}[]ab. ", max_size=40),
)


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
@example("}}")
@example("{{a.b}}")
@example("[[[[ -f x ]]]]")
@example('{"a": {"b": {a.b}}}')
@example("{x}}}")
@example("[len(x)-1]")
def test_escape_literal_round_trips_any_text(text: str) -> None:
    template = parse_template(escape_literal(text))
    assert template.literal == text
    assert template.render(SCOPE) == text


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
def test_text_without_any_shape_is_literal_and_needs_no_escaping(text: str) -> None:
    if _SHAPED.search(text):
        return
    assert parse_template(text).literal == text
    assert escape_literal(text) == text


def _balanced(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, max_size=3).map(lambda xs: "{" + ", ".join(xs) + "}"),
        st.lists(children, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    )


NESTED = st.recursive(
    st.sampled_from(['"k": 1', "x", "$_", "0", '"v"', "a=1"]), _balanced, max_leaves=12
)


@settings(max_examples=800, deadline=None)
@given(NESTED)
def test_nested_data_written_with_plain_openers_means_itself(text: str) -> None:
    """JSON, dicts, hashtables, nested indexes: '}}' / ']]' after a plain opener are as written."""
    if text.startswith(("{{", "[[")) or "{{" in text or "[[" in text:
        return  # an opener doubled on purpose is the escape
    assert parse_template(text).literal == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ('d = {"a": [1, 2]}', 'd = {"a": [1, 2]}'),
        ('{"a": {"b": 1}}', '{"a": {"b": 1}}'),
        ("@{a=1}", "@{a=1}"),
        ("[int]$n + $args[0]", "[int]$n + $args[0]"),
        ('[ -n "$x" ]', '[ -n "$x" ]'),
        ("${VAR}", "${VAR}"),
        ('f"{self.name}"', 'f"{{self.name}"'),
        ("{variable:X}", "{{variable:X}"),
        ("x[len(x)-1]", "x[[len(x)-1]"),
        ("[[ -f x ]]", "[[[ -f x ]]"),
        ("echo }}", "echo }}}"),
        ("{{ name }}", "{{{ name }}"),
    ],
)
def test_escape_literal_is_minimal(text: str, escaped: str) -> None:
    assert escape_literal(text) == escaped
    assert parse_template(escaped).render(SCOPE) == text


def test_old_documents_keep_their_meaning() -> None:
    """Written when every brace had to be doubled: the same text renders the same."""
    old = (
        "if [[ -f /etc/hosts ]]; then\n"
        '  f() {{ echo "{start.Name}"; }}\n'
        "fi\n"
        'echo \'{{"json": [[1]], "n": {{"m": {a.b}}}}}\' | jq \'.json[[0]]\''
    )
    assert parse_template(old).render(SCOPE) == (
        "if [ -f /etc/hosts ]; then\n"
        '  f() { echo "<NAME>"; }\n'
        "fi\n"
        'echo \'{"json": [1], "n": {"m": <A.B>}}\' | jq \'.json[0]\''
    )
