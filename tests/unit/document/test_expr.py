"""The expression language: parsing, escapes, references, rendering, errors."""

from __future__ import annotations

import pytest

from orch.document.expr import MappingScope, parse_template
from orch.errors import ExpressionError

SCOPE = MappingScope(
    values={
        "start": {"Name": "  World  ", "Count": "3"},
        "check": {"Output": "a,b,c", "ExitCode": "0"},
        "evil": {"Text": "{start.Name} [Upper('x')] {{ ]]"},
    },
    runbook_data={"JobId": "j-1", "InstanceId": "i-1", "Name": "Greet", "Server": "srv1"},
    variables={"Region": "eu-west", "db.host": "10.0.0.1"},
)


def render(text: str) -> str:
    return parse_template(text).render(SCOPE)


def test_plain_text_is_literal() -> None:
    t = parse_template("hello world")
    assert t.literal == "hello world"
    assert t.references == frozenset()
    assert t.render(SCOPE) == "hello world"


def test_empty_text() -> None:
    t = parse_template("")
    assert t.literal == ""
    assert t.render(SCOPE) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{", "{"),
        ("}}", "}"),
        ("[[", "["),
        ("]]", "]"),
        ("{{start.Name}}", "{start.Name}"),
        ("[[Upper('x')]]", "[Upper('x')]"),
        ("a {{{start.Name}}} b", "a {  World  } b"),
        ("{{}}[[]]", "{}[]"),
    ],
)
def test_escapes(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a { b",
        "a } b",
        "a [ -f x ]",
        "a ] b",
        "{start}",
        "{start.}",
        "{1x.Name}",
        "{a.b.c}",
        "{ a.b }",
        "{variable:}",
        "{variable:a b}",
        "{runbook}",
        "[Uper('x')]",
        "@{a=1; b=@{c=2}}",
        "{ $_ }",
        "${VAR}",
        "${env:PATH}",
        '{"a": {"b": [1, [2, 3]]}}',
        "a[b[0]]",
        "$args[0]",
        "[int]$n",
        "[Math]::Round(2.5)",
        "}{][",
        "{",
        "[",
    ],
)
def test_text_without_reference_or_call_shape_is_literal(text: str) -> None:
    t = parse_template(text)
    assert t.literal == text
    assert t.render(SCOPE) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # no plain '{' / '[' open: '}}' / ']]' is the escape of one
        ("}} ]]", "} ]"),
        ("{{x}}", "{x}"),
        # a plain '{' / '[' open: '}}' / ']]' is two closers, as written
        ('{"a": {"b": 1}}', '{"a": {"b": 1}}'),
        ("{x}}", "{x}}"),
        ("[[[ -f x ]]", "[[ -f x ]]"),
        ("[[[[ -f x ]]]]", "[[ -f x ]]"),
        ("[[ -f x ]]", "[ -f x ]"),
        # a reference inside plain braces
        ('{"name": "{start.Name}", "n": {start.Count}}', '{"name": "  World  ", "n": 3}'),
        ("{a.{start.Count}}", "{a.3}"),
        ("{{start.Name}", "{start.Name}"),
        ("[[Upper('x')]", "[Upper('x')]"),
    ],
)
def test_doubled_closers_and_mixed_text(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "m = [[1, 2], [3, 4]]",
            "'[[' writes one '[', so the ']' at position 11 closes nothing: to write '[[' as "
            "two, write '[[[' at position 5",
        ),
        ('{"r": [["a"], ["b"]]}', "'[[' writes one '[', so the ']' at position 12 closes nothing"),
        ("{{a}", "'{{' writes one '{', so the '}' at position 4 closes nothing"),
    ],
)
def test_a_doubled_opener_that_leaves_a_closer_unmatched_is_a_fault(
    text: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_template(text)
    assert message in info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m = [[[1, 2], [3, 4]]", "m = [[1, 2], [3, 4]]"),
        ("{{a.b}", "{a.b}"),  # an escape hiding a reference shape needs no closer
        ("[[Upper('x')] ]", "[Upper('x')] ]"),
        ("{{{a}}", "{{a}}"),
    ],
)
def test_doubled_openers_that_balance(text: str, expected: str) -> None:
    assert render(text) == expected


def test_reference_positions_are_kept() -> None:
    t = parse_template("ab {start.Name} [Upper({check.Output})] {runbook.Name}")
    positions = [
        (n.activity, n.at)
        for n in t.nodes
        if hasattr(n, "activity")  # type: ignore[union-attr]
    ]
    assert positions == [("start", 3)]
    assert [p for _, _, p in t.reference_positions()] == [3, 23]


def test_escapes_give_a_literal() -> None:
    assert parse_template('{{"a": [[1, 2]]}}').literal == '{"a": [1, 2]}'


def test_literal_braces_in_a_script_body() -> None:
    script = (
        "if [[ -f /etc/hosts ]]; then\n"
        '  f() {{ echo "{start.Name}"; }}\n'
        "  f\n"
        "fi\n"
        "echo '{{\"json\": [[1]]}}' | jq '.json[[0]]'"
    )
    t = parse_template(script)
    assert t.references == frozenset({("start", "Name")})
    assert t.render(SCOPE) == (
        "if [ -f /etc/hosts ]; then\n"
        '  f() { echo "  World  "; }\n'
        "  f\n"
        "fi\n"
        "echo '{\"json\": [1]}' | jq '.json[0]'"
    )


def test_activity_reference() -> None:
    t = parse_template("Hello {start.Name}!")
    assert t.references == frozenset({("start", "Name")})
    assert t.literal is None
    assert t.render(SCOPE) == "Hello   World  !"


def test_runbook_and_variable_references() -> None:
    t = parse_template("{runbook.JobId}/{runbook.Server} {variable:Region} {variable:db.host}")
    assert t.references == frozenset()
    assert t.runbook_fields == frozenset({"JobId", "Server"})
    assert t.variables == frozenset({"Region", "db.host"})
    assert t.render(SCOPE) == "j-1/srv1 eu-west 10.0.0.1"


def test_references_inside_calls_are_collected() -> None:
    t = parse_template("[Upper([Trim({start.Name})] {variable:Region} {runbook.Name})]")
    assert t.references == frozenset({("start", "Name")})
    assert t.variables == frozenset({"Region"})
    assert t.runbook_fields == frozenset({"Name"})
    assert t.calls == frozenset({"Upper", "Trim"})


def test_substituted_values_are_never_parsed_again() -> None:
    assert render("<{evil.Text}>") == "<{start.Name} [Upper('x')] {{ ]]>"
    assert render("[Len({evil.Text})]") == str(len("{start.Name} [Upper('x')] {{ ]]"))


def test_nested_calls() -> None:
    assert render("[Upper([Trim({start.Name})])]") == "WORLD"
    assert render("[Len([Trim({start.Name})])]") == "5"
    assert render("[Field([Upper({check.Output})], ',', [Sum(1, 1)])]") == "B"


def test_quoting() -> None:
    assert render("[Upper('it''s')]") == "IT'S"
    assert render("[Len('''')]") == "1"
    assert render("[Upper('')]") == ""
    assert render("[Upper('a, b) c')]") == "A, B) C"
    assert render("[Upper('{start.Name} [x]')]") == "{START.NAME} [X]"


def test_argument_terms_are_joined() -> None:
    assert render("[Upper('<' {start.Name} '>')]") == "<  WORLD  >"
    assert render("[Upper('n=' 5)]") == "N=5"


def test_numbers_as_arguments() -> None:
    assert render("[Sum(1, -2, 3.5)]") == "2.5"
    assert render("[Left('abcdef', 2)]") == "ab"
    assert render("[Sum(+1, .5)]") == "1.5"


def test_whitespace_in_calls() -> None:
    assert render("[Upper( 'a' ) ]") == "A"
    assert render("[Sum(\n  1,\n  2\n)]") == "3"
    assert render("[Upper([ Lower ('A')])]") == "A"  # a nested call is a call: spaces allowed


def test_a_call_starts_only_at_a_known_name_and_paren() -> None:
    # '[' then spaces, an unknown name, or no '(' right after the name: text
    for text in ("[ Upper('a')]", "[Upper ('a')]", "[Uper('x')]", "[Upper 'x']", "[int]$n"):
        assert parse_template(text).literal == text


def test_function_names_are_case_insensitive() -> None:
    assert render("[upper('a')]") == "A"
    assert render("[UPPER('a')]") == "A"


def test_template_is_immutable_and_keeps_its_path() -> None:
    t = parse_template("{start.Name}", path="$.activities[1].properties.args[0]")
    assert t.path == "$.activities[1].properties.args[0]"
    assert t.source == "{start.Name}"
    with pytest.raises(AttributeError):
        t.source = "x"  # type: ignore[misc]


# ---- parse errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{variable.X}", "write {variable:X} for a variable (or {{variable.X} for the text"),
        ("[Upper('x')", "expected ']' to close [Upper(...) (write '[[' for a literal '[' befor"),
        ("[Upper('x') x]", "expected ']' to close [Upper(...) (write '[[' for a literal '[' b"),
        ("[Upper('x'", "unclosed arguments of Upper (write '[[' for a literal '[' before Upper"),
        ("[Upper('x]", "unclosed quoted text (write '' for a quote inside it) at position 8"),
        (
            "[Upper(x)]",
            "unexpected 'x' in the arguments of Upper (quote text: 'like this') (write '[[' for "
            "a literal '[' before Upper) at position 8",
        ),
        (
            "[Upper(",
            "unclosed arguments of Upper (write '[[' for a literal '[' before Upper) at position 8",
        ),
        ("[Upper(,)]", "missing argument to Upper at position 8"),
        ("[Sum(1,)]", "missing argument to Sum at position 8"),
        ("[Upper('a' ; 'b')]", "unexpected ';'"),
        ("[Upper('a', 'b')]", "Upper(text) takes 1 argument, got 2 at position 1"),
        ("[Upper()]", "Upper(text) takes 1 argument, got 0"),
        ("[Mid('a', 1)]", "Mid(text, start, length) takes 3 arguments, got 2"),
        ("[Diff(1)]", "Diff(number1, number2[, decimals]) takes 2 to 3 arguments, got 1"),
        ("[Sum()]", "Sum(number, ...) takes at least 1 argument, got 0"),
        ("[Now(1, 2)]", "Now([format]) takes 0 to 1 arguments, got 2"),
        ("[Upper([Lower('a', 'b')])]", "Lower(text) takes 1 argument, got 2 at position 8"),
        ("[Upper([Nope()])]", "unknown function 'Nope' at position 9"),
        ("[Upper([ -f x ])]", "expected a function call like [Upper('text')] after '[' at pos"),
        ("[Upper({ a.b })]", "bad reference { a.b }: expected {activity.Field}, {runbook.Field}"),
        ("[Upper({a.b)]", "bad reference {a.b)]: expected"),
        ("[Upper({start})]", "bad reference {start}: expected"),
        ("x = len(a) + [len(a)-1]", "unexpected 'a' in the arguments of Len"),
    ],
)
def test_parse_errors_name_the_position(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_template(text, path="$.p")
    assert message in info.value.message
    assert info.value.path == "$.p"
    assert str(info.value).startswith("$.p: ")


def test_parse_error_quotes_short_text_whole() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_template("a [Len( b")
    assert info.value.message.endswith("of 'a [Len( b'")


def test_parse_error_in_long_text_shows_an_excerpt() -> None:
    text = "x" * 100 + " [Len(x) " + "y" * 100
    with pytest.raises(ExpressionError) as info:
        parse_template(text)
    assert "at position 107 near '…" in info.value.message
    assert len(info.value.message) < 200


# ---- render errors --------------------------------------------------------------------------


def test_missing_value_names_the_reference_and_expression() -> None:
    t = parse_template("x {nope.Field} y", path="$.q")
    with pytest.raises(ExpressionError) as info:
        t.render(SCOPE)
    assert info.value.message == "{nope.Field} has no value (in 'x {nope.Field} y')"
    assert info.value.path == "$.q"


def test_missing_runbook_field_and_variable() -> None:
    with pytest.raises(ExpressionError, match=r"\{runbook.Owner\} has no value"):
        render("{runbook.Owner}")
    with pytest.raises(ExpressionError, match=r"\{variable:Nope\} has no value"):
        render("{variable:Nope}")


def test_scope_expression_errors_are_wrapped() -> None:
    class Strict:
        def value(self, activity: str, field: str) -> str:
            raise ExpressionError(f"{activity} has not run")

        def runbook(self, field: str) -> str:
            return ""

        def variable(self, name: str) -> str:
            return ""

    with pytest.raises(ExpressionError) as info:
        parse_template("[Upper({a.B})]").render(Strict())
    assert info.value.message == "{a.B}: a has not run (in '[Upper({a.B})]')"


def test_function_error_names_function_argument_and_expression() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_template("x [Mid({start.Name}, 0, 2)] y", path="$.r").render(SCOPE)
    assert info.value.message == (
        "Mid argument 2: must be 1 or more, got 0 (in '[Mid({start.Name}, 0, 2)]')"
    )
    assert info.value.path == "$.r"


def test_error_in_nested_call_names_the_inner_call() -> None:
    with pytest.raises(ExpressionError) as info:
        render("[Upper([Field({check.Output}, ',', 9)])]")
    assert info.value.message == (
        "Field argument 3: position 9 is out of range: the text has 3 fields "
        "(in \"[Field({check.Output}, ',', 9)]\")"
    )


def test_bad_number_from_published_data() -> None:
    with pytest.raises(
        ExpressionError, match=r"Sum argument 2: expected a number, got '  World  '"
    ):
        render("[Sum(1, {start.Name})]")
