"""The designer's pure modules, run in the browser: the undo stack, positions, schema kinds."""

from __future__ import annotations

from typing import Any

import pytest

from orch.gateway.console import load_console
from tests.browser.conftest import Console

pytestmark = pytest.mark.timeout(120)

PRELUDE = """
  const base = `/console/${version}/js`;
  const model = await import(`${base}/designer/model.js`);
  const positions = await import(`${base}/graph/positions.js`);
  const form = await import(`${base}/designer/schemaform.js`);
  const faults = await import(`${base}/designer/faults.js`);
"""


async def run(page: Any, body: str) -> Any:
    """Run ``body`` (JavaScript with model, positions and form imported) in the page."""
    await page.goto("/login")
    return await page.evaluate(f"async (version) => {{ {PRELUDE} {body} }}",
                               load_console().version)


async def test_undo_redo_and_merged_steps(page: Any, console: Console) -> None:
    out = await run(page, """
      const d = new model.Draft({activities: [{id: "a", type: "t"}], links: []});
      const seen = [];
      d.onChange((source) => seen.push(source));
      d.edit("add b", (doc) => doc.activities.push({id: "b", type: "t"}));
      d.edit("type", (doc) => { doc.activities[1].name = "x"; }, {merge: "b.name"});
      d.edit("type", (doc) => { doc.activities[1].name = "xy"; }, {merge: "b.name"});
      const same = d.edit("nothing", () => {});
      const steps = d.undoStack.length;
      const undone = [d.undo(), JSON.stringify(d.doc.activities.map((a) => a.name || null))];
      const undone2 = [d.undo(), d.doc.activities.length, d.canUndo()];
      const redone = [d.redo(), d.redo(), d.doc.activities[1].name, d.canRedo()];
      d.undo();
      d.edit("other", (doc) => { doc.description = "z"; });
      return {steps, same, undone, undone2, redone, redoAfterEdit: d.canRedo(), seen};
    """)
    assert out["steps"] == 2  # two keystrokes in one field: one step
    assert out["same"] is False  # an edit that changes nothing is no step
    assert out["undone"] == ["type", '[null,null]']
    assert out["undone2"] == ["add b", 1, False]
    assert out["redone"] == ["add b", "type", "xy", False]
    assert out["redoAfterEdit"] is False  # a new edit drops what could be redone
    assert out["seen"][:3] == ["form", "form", "form"] and "undo" in out["seen"]


async def test_ids_and_renamed_references(page: Any, console: Console) -> None:
    out = await run(page, """
      const d = new model.Draft({activities: [{id: "run_program", type: "run_program"},
                                              {id: "run_program_2", type: "x"}]});
      return {
        fresh: [d.freshId("run_program"), d.freshId("acme:ping"), d.freshId("9lives")],
        renamed: model.renameRefs({args: ["{old.Output} and {older.Output}", 3],
                                   env: {K: "[Upper({old.X})]"}}, "old", "new"),
      };
    """)
    assert out["fresh"] == ["run_program_3", "ping", "_9lives"]
    assert out["renamed"] == {"args": ["{new.Output} and {older.Output}", 3],
                              "env": {"K": "[Upper({new.X})]"}}


async def test_stored_positions_win_and_the_rest_are_laid_out(page: Any,
                                                              console: Console) -> None:
    out = await run(page, """
      const doc = {activities: [{id: "a", type: "t", position: {x: 500, y: 40}},
                                {id: "b", type: "t"}, {id: "c", type: "t"}],
                   links: [{from: "a", to: "b"}, {from: "b", to: "c"}]};
      const mixed = Object.fromEntries(positions.boxPositions(doc));
      const all = {activities: [{id: "a", type: "t", position: {x: 500, y: 40}},
                                {id: "b", type: "t", position: {x: 100, y: 300}}],
                   links: [{from: "a", to: "b"}]};
      const g = positions.storedLayout(all);
      return {mixed, nodes: g.nodes.map((n) => [n.id, n.x, n.y]), edges: g.edges.length,
              allPositioned: [positions.allPositioned(doc), positions.allPositioned(all)]};
    """)
    assert out["mixed"]["a"] == {"x": 500, "y": 40}
    assert out["mixed"]["b"]["x"] < out["mixed"]["c"]["x"]  # automatic, left to right
    # stored layout: moved to the top-left corner, distances kept (centres of 168x56 boxes)
    assert out["nodes"] == [["a", 16 + 400 + 84, 16 + 28], ["b", 16 + 84, 16 + 260 + 28]]
    assert out["edges"] == 1 and out["allPositioned"] == [False, True]


async def test_form_kinds_from_json_schemas(page: Any, console: Console) -> None:
    out = await run(page, """
      const root = {$defs: {P: {type: "object", properties: {name: {type: "string"}}},
                            G: {type: "object", properties: {n: {type: "string"}}}}};
      const k = (s) => form.kindOf(s, root);
      return [
        k({type: "string"}), k({enum: ["a", "b"]}), k({type: "boolean"}), k({type: "integer"}),
        k({anyOf: [{type: "string"}, {type: "null"}]}), k({type: "array", items: {type: "string"}}),
        k({type: "array", items: {$ref: "#/$defs/P"}}),
        k({type: "object", additionalProperties: {type: "string"}}),
        k({anyOf: [{$ref: "#/$defs/G"}, {type: "null"}]}),
        k({anyOf: [{type: "string"}, {type: "array", items: {type: "string"}}]}),
        k({anyOf: [{type: "object"}, {type: "array"}]}),
      ];
    """)
    assert out == ["text", "enum", "bool", "number", "text", "list", "list-objects", "map",
                   "optional-object", "text", "json"]


async def test_faults_go_to_their_activity_link_or_runbook(page: Any, console: Console) -> None:
    out = await run(page, """
      const doc = {activities: [{id: "a"}, {id: "b"}], links: [{from: "a", to: "b"}]};
      const g = faults.groupFaults([
        {path: "$.activities[1].properties.args[0]", message: "bad arg"},
        {path: "$.activities[1]", message: "bad b"},
        {path: "$.links[0].include[0].data", message: "bad field"},
        {path: "$.activities[7].type", message: "beyond"},
        {path: "$.returns[0].name", message: "bad return"},
        {path: "$", message: "not JSON"},
      ], doc);
      return {acts: Object.fromEntries(g.activities), links: Object.fromEntries(g.links),
              runbook: g.runbook};
    """)
    assert out == {"acts": {"b": ["bad arg", "bad b"]}, "links": {"0": ["bad field"]},
                   "runbook": ["beyond", "bad return", "not JSON"]}
