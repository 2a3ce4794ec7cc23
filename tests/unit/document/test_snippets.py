"""Real-world scripts and bodies are checked in and run exactly as written.

Each snippet goes into a runbook property verbatim (no doubling), the runbook
is validated and run by the actor runtime in memory (real ``python3``,
``bash``, ``sh`` subprocesses, a real SQLite file), and what arrived is
compared with the literal text: every script ends by printing its own file,
so the output shows the interpreter got the text unchanged, and what the
script computed shows its braces and brackets kept their meaning.
PowerShell is not installed here: those snippets are checked in and rendered.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orch.document import load
from orch.document.expr import MappingScope, escape_literal, parse_template
from orch.document.faults import DocumentInvalid
from orch.errors import ExpressionError
from tests.unit.runtime.helpers import REGISTRY, act, link, run, runbook

PYTHON = [
    (
        "dicts and lists",
        'import json\nd = {"a": [1, 2], "b": {"c": {"d": [0, [3], [4, [5]]]}}}\n'
        'print(json.dumps(d, separators=(",", ":")))\nprint(d["b"]["c"]["d"][2][1][0])\n',
        '{"a":[1,2],"b":{"c":{"d":[0,[3],[4,[5]]]}}}\n5',
    ),
    (
        "f-strings, comprehensions, slices",
        'x = 7\nitems = [i * i for i in range(4)]\nprint(f"x={x} {items[1:3]} {x!r:>3}")\n'
        "print({k: v for k, v in zip('ab', [1, 2])})\nprint(items[-1], items[::2])\n",
        "x=7 [1, 4]   7\n{'a': 1, 'b': 2}\n9 [0, 4]",
    ),
    (
        "sets, nested indexes, format spec",
        "s = {1, 2}\nm = list(([1, 2], [3, 4]))\nprint(sorted(s), m[m[0][0]][1])\n"
        'print("{:>5}|{}".format("a", {"k": "v"}["k"]))\n',
        "[1, 2] 4\n    a|v",
    ),
    (
        "a function block and a lambda in a dict",
        "def f(d):\n    return {**d, 'n': len(d)}\n\nops = {'twice': lambda v: [v, v]}\n"
        "print(f({'x': 1}), ops['twice'](0))\n",
        "{'x': 1, 'n': 1} [0, 0]",
    ),
]

SHELL = [
    (
        "bash tests, ${VAR} and arrays",
        "bash",
        'x="hi"\nif [ -n "$x" ]; then echo "set:${x}"; fi\n'
        'arr=(a b c)\necho "${arr[1]} ${#arr[@]}"\n'
        'f() { echo "in f: $1"; }\nf "${x}"\necho "${HOME:+home}"\n',
        "set:hi\nb 3\nin f: hi\nhome",
    ),
    (
        "brace expansion, arithmetic, awk and jq",
        "bash",
        "echo {1..3} a{b,c}\necho $(( (2 + 3) * 4 ))\n"
        "echo '1 2' | awk '{ print $2 }'\n"
        "echo '{\"a\": {\"b\": [10, 20]}}' | jq -c '.a.b[1], {x: .a.b}'\n",
        '1 2 3 ab ac\n20\n2\n20\n{"x":[10,20]}',
    ),
    (
        "sh with test brackets and a here document",
        "sh",
        'n=3\n[ "$n" -gt 2 ] && echo big\ncase "$n" in [0-9]) echo digit;; esac\n'
        'cat <<EOF\n{"n": [$n]}\nEOF\n',
        'big\ndigit\n{"n": [3]}',
    ),
]

POWERSHELL = [
    '$h = @{a=1; b=@{c=2}}\n$h["b"]["c"]\n',
    "Get-Process | Where-Object { $_.CPU -gt 10 } | ForEach-Object { $_.Name }\n",
    "[int]$n = '5'\n$args[0]\n[Math]::Round(2.5)\n[string[]]$list = @('a', 'b')\n",
    'function Get-X { param([Parameter(Mandatory)][string]$Name) "Hello ${Name}" }\n',
    '$json = \'{"a": [1, {"b": 2}]}\' | ConvertFrom-Json\n$json.a[1].b\n',
]


def _self_printing(script: str, interpreter: str) -> str:
    """The snippet followed by a line that prints the script file itself."""
    if interpreter == "python3":
        return script + 'print("---")\nprint(open(__file__).read(), end="")\n'
    return script + 'echo ---\ncat "$0"\n'


def _script_runbook(script: str, interpreter: str) -> dict[str, Any]:
    return runbook(
        [
            act("start", "initialize_data"),
            act("script", "run_script", interpreter=interpreter, script=script),
            act("done", "return_data", data={"Output": "{script.Output}"}),
        ],
        [link("start", "script"), link("script", "done")],
        returns=[{"name": "Output"}],
    )


def _check(script: str) -> None:
    """The text is a template without references or calls that renders itself."""
    template = parse_template(script)
    assert template.literal == script
    assert template.render(MappingScope()) == script
    assert escape_literal(script) == script


@pytest.mark.parametrize(
    ("script", "expected"),
    [(s, e) for _, s, e in PYTHON],
    ids=[name for name, _, _ in PYTHON],
)
async def test_python_snippets_run_as_written(script: str, expected: str) -> None:
    _check(script)
    full = _self_printing(script, "python3")
    _, outcome = await run(_script_runbook(full, "python3"))
    assert outcome.status == "success"
    assert outcome.returned_data["Output"] == f"{expected}\n---\n{full.removesuffix(chr(10))}"


@pytest.mark.parametrize(
    ("interpreter", "script", "expected"),
    [(i, s, e) for _, i, s, e in SHELL],
    ids=[name for name, *_ in SHELL],
)
async def test_shell_snippets_run_as_written(interpreter: str, script: str, expected: str) -> None:
    _check(script)
    full = _self_printing(script, interpreter)
    _, outcome = await run(_script_runbook(full, interpreter))
    assert outcome.status == "success"
    assert outcome.returned_data["Output"] == f"{expected}\n---\n{full.removesuffix(chr(10))}"


@pytest.mark.parametrize("script", POWERSHELL)
def test_powershell_snippets_check_in_and_render_as_written(script: str) -> None:
    _check(script)
    compiled = load(_script_runbook(script, "pwsh"), REGISTRY)
    tree = compiled.activities["script"].properties
    assert tree.render(MappingScope())["script"] == script


async def test_a_script_mixing_references_and_literal_braces() -> None:
    """References still work inside a script full of literal braces and brackets."""
    script = (
        'import json\nname = "{start.Name}"\nd = {"name": name, "tags": ["{start.Name}", 1]}\n'
        'print(json.dumps(d), [1 + 1], {"k": [name]}["k"][0])\n'
    )
    doc = runbook(
        [
            act("start", "initialize_data", parameters=[{"name": "Name", "type": "string"}]),
            act("script", "run_script", interpreter="python3", script=script),
            act("done", "return_data", data={"Output": "{script.Output}"}),
        ],
        [link("start", "script"), link("script", "done")],
        returns=[{"name": "Output"}],
    )
    _, outcome = await run(doc, {"Name": "web01"})
    assert outcome.status == "success"
    assert outcome.returned_data["Output"] == ('{"name": "web01", "tags": ["web01", 1]} [2] web01')


async def test_a_json_body_is_used_as_written() -> None:
    body = '{"user": {"name": "ann", "roles": [{"r": "admin"}, {"r": "ops"}]}, "ok": true}'
    doc = runbook(
        [
            act("start", "initialize_data"),
            act("pick", "query_json", json=body, path="$.user.roles[1].r"),
            act("done", "return_data", data={"Role": "{pick.Value}", "Body": body}),
        ],
        [link("start", "pick"), link("pick", "done")],
        returns=[{"name": "Role"}, {"name": "Body"}],
    )
    _check(body)
    _, outcome = await run(doc)
    assert outcome.status == "success"
    assert outcome.returned_data == {"Role": "ops", "Body": body}


async def test_an_sql_body_is_used_as_written(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE [order items] ([id] INTEGER, [doc] TEXT)")
    conn.execute("""INSERT INTO [order items] VALUES (1, '{"sku": ["a1", "b2"]}')""")
    conn.commit()
    conn.close()
    query = (
        "SELECT [id] AS [Id], json_extract([doc], '$.sku[1]') AS [Sku], "
        "'{' || 'x' || '}' AS [Braced] FROM [order items] WHERE [id] IN (1)"
    )
    _check(query)
    doc = runbook(
        [
            act("start", "initialize_data"),
            act("q", "query_database", connection=f"sqlite:///{path}", query=query),
            act("done", "return_data", data={"Row": "{q.Id} {q.Sku} {q.Braced}"}),
        ],
        [link("start", "q"), link("q", "done")],
        returns=[{"name": "Row"}],
    )
    _, outcome = await run(doc)
    assert outcome.status == "success"
    assert outcome.returned_data == {"Row": "1 b2 {x}"}


NEEDS_ESCAPING = [
    (
        "a nested list opening with [[ (a fault, not a lost bracket)",
        "python3",
        "m = [[1, 2], [3, 4]]\nprint(m[1][0], len(m))\n",
        "3 2",
        "'[[' writes one '[', so the ']' at position 11 closes nothing: to write '[[' as two, "
        "write '[[['",
    ),
    (
        "a call-shaped index",
        "python3",
        "x = 'abc'\nprint(x[len(x)-1])\n",
        "c",
        "unexpected 'x' in the arguments of Len (quote text: 'like this') "
        "(write '[[' for a literal '[' before len)",
    ),
    (
        "a reference-shaped f-string",
        "python3",
        'class A:\n    name = "a"\n    def show(self):\n        print(f"{self.name}")\n\n'
        "A().show()\n",
        "a",
        "{self.name} at position 61: no activity 'self' (for the text itself write {{self.name})",
    ),
    (
        "f-string braces doubled for Python",
        "python3",
        'v = 1\nprint(f"{{v}} is {v}")\n',
        "{v} is 1",
        None,  # '{{v}}' is the escape pair: without escaping Python would get '{v}'
    ),
    (
        "bash [[ tests, }} and a {{ }} template",
        "bash",
        'x=1\nif [[ "$x" == 1 && -n "$x" ]]; then echo "ok {a.b} [Upper(x)]"; fi\n'
        "echo }} {{ name }}\n",
        "ok {a.b} [Upper(x)]\n}} {{ name }}",
        "unexpected 'x' in the arguments of Upper (quote text: 'like this') "
        "(write '[[' for a literal '[' before Upper) at position 63",
    ),
]


@pytest.mark.parametrize(
    ("interpreter", "script", "expected", "fault"),
    [(i, s, e, f) for _, i, s, e, f in NEEDS_ESCAPING],
    ids=[name for name, *_ in NEEDS_ESCAPING],
)
async def test_text_that_needs_escaping(
    interpreter: str, script: str, expected: str, fault: str | None
) -> None:
    """As written: a fault naming the position (or, for an escape pair, another text);
    after escape_literal: runs as the original."""
    doc = _script_runbook(script, interpreter)
    if fault is not None:
        with pytest.raises(DocumentInvalid) as info:
            load(doc, REGISTRY)
        assert fault in " ".join(f.message for f in info.value.faults)
    else:
        assert parse_template(script).literal != script
    full = _self_printing(script, interpreter)
    _, outcome = await run(_script_runbook(escape_literal(full), interpreter))
    assert outcome.status == "success"
    assert outcome.returned_data["Output"] == f"{expected}\n---\n{full.removesuffix(chr(10))}"


async def test_a_json_body_with_nested_arrays_after_escaping() -> None:
    body = '{"roles": [["admin"], ["ops", "dev"]]}'
    with pytest.raises(ExpressionError, match="'\\[\\[' writes one"):
        parse_template(body)
    escaped = escape_literal(body)
    assert escaped == '{"roles": [[["admin"], ["ops", "dev"]]}'
    doc = runbook(
        [
            act("start", "initialize_data"),
            act("pick", "query_json", json=escaped, path="$.roles[1][0]"),
            act("done", "return_data", data={"Role": "{pick.Value}"}),
        ],
        [link("start", "pick"), link("pick", "done")],
        returns=[{"name": "Role"}],
    )
    _, outcome = await run(doc)
    assert outcome.returned_data == {"Role": "ops"}
