"""The graph layout (orch/console/js/graph/layout.js), run in the browser on sample graphs."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from orch.gateway.console import load_console
from tests.browser.conftest import Console

pytestmark = pytest.mark.timeout(120)

LAYOUT = """async ([version, doc]) => {
  const m = await import(`/console/${version}/js/graph/layout.js`);
  return m.layout(doc);
}"""


def graph(nodes: list[str], links: list[tuple[str, str]]) -> dict[str, Any]:
    return {"activities": [{"id": n, "type": "t"} for n in nodes],
            "links": [{"from": a, "to": b} for a, b in links]}


async def _layout(page: Any, doc: dict[str, Any]) -> dict[str, Any]:
    await page.goto("/login")
    return await page.evaluate(LAYOUT, [load_console().version, doc])


async def test_ranks_by_longest_path_and_links_point_forward(page: Any,
                                                           console: Console) -> None:
    doc = graph(["s", "a", "b", "c", "j"],
                [("s", "a"), ("a", "b"), ("b", "c"), ("s", "j"), ("c", "j"), ("a", "j")])
    out = await _layout(page, doc)
    rank = {n["id"]: n["rank"] for n in out["nodes"]}
    assert rank == {"s": 0, "a": 1, "b": 2, "c": 3, "j": 4}
    x = {n["id"]: n["x"] for n in out["nodes"]}
    for e in out["edges"]:
        xs = [p["x"] for p in e["points"]]
        assert xs == sorted(xs) and x[e["from"]] < x[e["to"]]
    # s→j spans four ranks: it bends through three dummy points.
    long = next(e for e in out["edges"] if (e["from"], e["to"]) == ("s", "j"))
    assert len(long["points"]) == 5


async def test_order_within_ranks_removes_avoidable_crossings(page: Any,
                                                              console: Console) -> None:
    # Declared in an order that crosses: a→y and b→x.
    doc = graph(["s", "a", "b", "x", "y"],
                [("s", "a"), ("s", "b"), ("a", "y"), ("b", "x")])
    doc["activities"] = [doc["activities"][i] for i in (0, 1, 2, 3, 4)]
    out = await _layout(page, doc)
    assert out["crossings"] == 0
    y = {n["id"]: n["y"] for n in out["nodes"]}
    assert (y["a"] < y["b"]) == (y["y"] < y["x"])


async def test_boxes_never_overlap(page: Any, console: Console) -> None:
    nodes = ["s"] + [f"n{i}" for i in range(12)] + ["end"]
    links = [("s", f"n{i}") for i in range(6)]
    links += [(f"n{i}", f"n{i + 6}") for i in range(6)]
    links += [(f"n{i}", "end") for i in range(6, 12)] + [("n0", "end")]
    out = await _layout(page, graph(nodes, links))
    by_rank: dict[int, list[dict[str, Any]]] = {}
    for n in out["nodes"]:
        by_rank.setdefault(n["rank"], []).append(n)
    for column in by_rank.values():
        column.sort(key=lambda n: n["y"])
        for upper, lower in itertools.pairwise(column):
            assert lower["y"] - upper["y"] >= upper["h"]
    for n in out["nodes"]:
        assert n["y"] - n["h"] / 2 >= 0 and n["y"] + n["h"] / 2 <= out["height"]
        assert n["x"] - n["w"] / 2 >= 0 and n["x"] + n["w"] / 2 <= out["width"]
