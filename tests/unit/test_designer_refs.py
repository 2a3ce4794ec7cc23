"""The designer's reference renaming follows the expression rule (node runs the ES module)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parents[2] / "orch" / "console" / "js" / "designer" / "model.js"

CASES = [
    ("{a.b}{a.c} x", "{z.b}{z.c} x"),
    (
        "{{a.b} is text, {{{a.b}}} an escape then a reference",
        "{{a.b} is text, {{{z.b}}} an escape then a reference",
    ),
    ('d = {"k": {a.Out}, "l": [{a.Out}]}', 'd = {"k": {z.Out}, "l": [{z.Out}]}'),
    ("{ab.c} {b.a} { a.b } ${a.b}", "{ab.c} {b.a} { a.b } ${z.b}"),
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_renaming_skips_escaped_braces() -> None:
    script = (
        f"import {{ renameRefs }} from {json.dumps(MODEL.as_uri())};\n"
        f"const cases = {json.dumps([c for c, _ in CASES])};\n"
        "console.log(JSON.stringify(cases.map((c) => renameRefs(c, 'a', 'z'))));\n"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout) == [expected for _, expected in CASES]
