"""Multi-valued data: one run per item with lineage, conditions per item, the
product of two fan-outs, zero items, flatten in item order."""

from __future__ import annotations

from tests.unit.runtime.helpers import act, by_activity, cond, link, run, runbook, summary


async def test_one_run_per_item_with_lineage() -> None:
    doc = runbook(
        [
            act("start", "items", values=["a", "b", "c"]),
            act("each", "echo", value="<{start.Value}>"),
        ],
        [link("start", "each")],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    (start,) = runs["start"]
    assert [p["Value"] for p in start.published] == ["a", "b", "c"]
    assert [(r.item, r.parent_run, r.published[0]["Value"]) for r in runs["each"]] == [
        (0, start.run_id, "<a>"),
        (1, start.run_id, "<b>"),
        (2, start.run_id, "<c>"),
    ]
    assert len({r.run_id for r in h.runs()}) == 4
    assert outcome.status == "success"


async def test_link_conditions_are_evaluated_per_item() -> None:
    doc = runbook(
        [act("start", "items", values=["a", "b", "c"]), act("each", "echo", value="{start.Value}")],
        [link("start", "each", include=[cond("Value", "not_equals", "b")])],
    )
    h, _ = await run(doc)
    assert summary(h.runs())[1:] == [("each", "success", 0, ("a",)), ("each", "success", 2, ("c",))]


async def test_product_of_two_fan_outs() -> None:
    doc = runbook(
        [
            act("start", "items", values=["x", "y"], field="A"),
            act("inner", "items", values=["1", "2", "3"], field="B"),
            act("pair", "echo", value="{start.A}{inner.B}"),
        ],
        [link("start", "inner"), link("inner", "pair")],
    )
    h, outcome = await run(doc)
    runs = by_activity(h.runs())
    assert [r.item for r in runs["inner"]] == [0, 1]
    assert sorted(r.published[0]["Value"] for r in runs["pair"]) == [
        "x1",
        "x2",
        "x3",
        "y1",
        "y2",
        "y3",
    ]
    # each pair run is bound to one item of its own inner run
    inner_by_id = {r.run_id: r for r in runs["inner"]}
    for r in runs["pair"]:
        parent = inner_by_id[r.parent_run]
        assert r.published[0]["Value"] == "xy"[parent.item] + str(r.item + 1)
    assert outcome.status == "success"


async def test_product_via_two_branches_joined_downstream() -> None:
    # a run binds one item of each multi-valued activity upstream *on its path*
    doc = runbook(
        [
            act("start", "items", values=["p", "q"]),
            act("mid", "echo", value="{start.Value}"),
            act("more", "items", values=["1", "2"], field="N"),
            act("leaf", "echo", value="{start.Value}{mid.Value}{more.N}"),
        ],
        [link("start", "mid"), link("mid", "more"), link("more", "leaf")],
    )
    h, _ = await run(doc)
    leaves = sorted(r.published[0]["Value"] for r in by_activity(h.runs())["leaf"])
    assert leaves == ["pp1", "pp2", "qq1", "qq2"]


async def test_zero_items_make_the_path_dead() -> None:
    doc = runbook(
        [act("start", "items", values=[]), act("each", "echo"), act("after", "echo")],
        [link("start", "each"), link("each", "after")],
    )
    h, outcome = await run(doc)
    assert summary(h.runs()) == [("start", "success", 0, ())]
    assert outcome.status == "success"


async def test_zero_items_from_split_output() -> None:
    doc = runbook(
        [act("start", "run_program", program="true", split_output=True), act("each", "echo")],
        [link("start", "each")],
    )
    h, outcome = await run(doc)
    assert [(r.activity, r.published) for r in h.runs()] == [("start", [])]
    assert outcome.status == "success"


async def test_flatten_joins_items_in_item_order() -> None:
    doc = runbook(
        [
            act("start", "items", values=["c", "a", "b"]),
            {
                "id": "flat",
                "type": "echo",
                "flatten": {"separator": ";"},
                "properties": {"value": "{start.Value}"},
            },
        ],
        [link("start", "flat")],
    )
    h, outcome = await run(doc)
    assert summary(h.runs())[1:] == [("flat", "success", 0, ("c;a;b",))]
    assert outcome.status == "success"


async def test_flatten_skips_items_whose_link_is_not_followed() -> None:
    doc = runbook(
        [
            act("start", "items", values=["1", "2", "3", "4"]),
            {
                "id": "flat",
                "type": "echo",
                "flatten": {"separator": ","},
                "properties": {"value": "{start.Value}"},
            },
        ],
        [link("start", "flat", include=[cond("Value", "gt", "2")])],
    )
    h, _ = await run(doc)
    assert summary(h.runs())[1:] == [("flat", "success", 0, ("3,4",))]


async def test_flatten_runs_once_per_lineage_above_the_fan_out() -> None:
    doc = runbook(
        [
            act("start", "items", values=["x", "y"], field="A"),
            act("inner", "items", values=["1", "2"], field="B"),
            {
                "id": "flat",
                "type": "echo",
                "flatten": {"separator": "+"},
                "properties": {"value": "{start.A}:{inner.B}"},
            },
        ],
        [link("start", "inner"), link("inner", "flat")],
    )
    h, _ = await run(doc)
    flats = by_activity(h.runs())["flat"]
    assert sorted(r.published[0]["Value"] for r in flats) == ["x:1+2", "y:1+2"]
