"""Imports flow one way in the runtime and the validator (no module cycles, even
under TYPE_CHECKING): actors.instance → runs/resume → blueprint/lineage, and
orch.document.checker → testcases/reach."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"actors": ROOT / "actors", "orch.document": ROOT / "orch" / "document"}


def _imports(package: str, folder: Path) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports (anywhere in the file)."""
    modules = {f"{package}.{p.stem}": p for p in folder.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycles(package: str) -> None:
    graph = _imports(package, PACKAGES[package])
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(v: str) -> None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                cycle = [*path[path.index(w) :], w]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if w not in state:
                visit(w)
        path.pop()
        state[v] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_graph_is_read() -> None:
    graph = _imports("actors", PACKAGES["actors"])
    assert "actors.runs" in graph["actors.instance"]
    assert "actors.instance" not in graph["actors.runs"]
    doc = _imports("orch.document", PACKAGES["orch.document"])
    assert "orch.document.testcases" in doc["orch.document.checker"]
    assert "orch.document.checker" not in doc["orch.document.testcases"]
