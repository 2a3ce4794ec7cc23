"""Data past a junction means one thing (orch/document/README.md "Data past a junction").

A reference, past a junction, to an activity that ran several times on the
paths into it: with ``flatten`` on the referencing activity it binds all those
runs' values joined in item order; without, check-in refuses it. Never "the
latest run". Each scenario runs many times with runs ending in a random (or
reversed) order, and the bound values never change.
"""

from __future__ import annotations

import pytest

from orch.document import DocumentInvalid, load
from tests.unit.runtime.helpers import (
    REGISTRY,
    act,
    by_activity,
    cond,
    link,
    run,
    runbook,
    summary,
)

ROUNDS = 15


def _fan_out(*, flatten: bool, values: list[str], delay: str = "-0.004") -> dict:
    after = act("after", "echo", value="{each.Value}|{j.Status}")
    if flatten:
        after["flatten"] = {"separator": ","}
    return runbook(
        [
            act("start", "items", values=values),
            act("each", "jitter", value="<{start.Value}>", delay=delay),
            act("j", "junction"),
            after,
        ],
        [link("start", "each"), link("each", "j"), link("j", "after")],
    )


async def test_fan_out_through_a_junction_binds_every_run_in_item_order() -> None:
    values = [str(n) for n in range(8)]
    for _ in range(ROUNDS):
        h, outcome = await run(_fan_out(flatten=True, values=values))
        runs = by_activity(h.runs())
        assert [r.item for r in runs["each"]] != []  # ran
        assert sorted(r.item for r in runs["each"]) == list(range(8))
        assert summary(runs["after"]) == [
            ("after", "success", 0, (",".join(f"<{v}>" for v in values) + "|success",))
        ]
        assert outcome.status == "success"


async def test_item_order_not_the_order_runs_ended_in() -> None:
    """Item k waits (n - k) × 10 ms: the runs end in reverse; the value is in item order."""
    doc = _fan_out(flatten=True, values=["3", "2", "1"], delay="[Mult({start.Value}, 0.01)]")
    for _ in range(3):
        h, _ = await run(doc)
        ended = [r.item for r in sorted(by_activity(h.runs())["each"], key=lambda r: r.ended_at)]
        assert ended == [2, 1, 0]
        after = by_activity(h.runs())["after"]
        assert after[0].published[0]["Value"] == "<3>,<2>,<1>|success"


def test_without_flatten_check_in_refuses_the_reference() -> None:
    with pytest.raises(DocumentInvalid) as info:
        load(_fan_out(flatten=False, values=["a", "b"]), REGISTRY)
    (fault,) = info.value.faults
    assert (fault.path, fault.code) == ("$.activities[3].properties.value", "several-values")
    assert fault.message == (
        "{each.Value} at position 1: 'each' may run several times on the paths into junction "
        "'j', so past it the reference names no single value: set \"flatten\" on 'after' to "
        "bind all of them joined in item order, or set 'j''s return_data_from to the branch "
        "that carries 'each'"
    )


def _two_branches(**after_kw: object) -> dict:
    after = act("after", "echo", value="{ea.Value}/{eb.Value}")
    after.update(after_kw)
    return runbook(
        [
            act("start", "echo", value="s"),
            act("a", "items", values=["1", "2", "3"]),
            act("b", "items", values=["x", "y"]),
            act("ea", "jitter", value="a{a.Value}", delay=-0.003),
            act("eb", "jitter", value="b{b.Value}", delay=-0.003),
            act("j", "junction"),
            after,
        ],
        [
            link("start", "a"),
            link("start", "b"),
            link("a", "ea"),
            link("b", "eb"),
            link("ea", "j"),
            link("eb", "j"),
            link("j", "after"),
        ],
    )


async def test_two_fanned_branches_into_one_junction() -> None:
    doc = _two_branches(flatten={"separator": " "})
    for _ in range(ROUNDS):
        h, outcome = await run(doc)
        runs = by_activity(h.runs())
        assert (len(runs["ea"]), len(runs["eb"]), len(runs["j"])) == (3, 2, 1)
        assert summary(runs["after"]) == [("after", "success", 0, ("a1 a2 a3/bx by",))]
        assert outcome.status == "success"


def test_two_fanned_branches_without_flatten_name_each_activity() -> None:
    with pytest.raises(DocumentInvalid) as info:
        load(_two_branches(), REGISTRY)
    assert [(f.code, f.message.split(":")[0]) for f in info.value.faults] == [
        ("several-values", "{ea.Value} at position 1"),
        ("several-values", "{eb.Value} at position 12"),
    ]


async def test_return_data_from_binds_its_branch_per_item_and_flattens_the_other() -> None:
    """The junction's return_data_from: its branch is bound run by run; the other
    branch is past the junction (joined, with flatten)."""
    doc = _two_branches()
    doc["activities"][5]["properties"] = {"return_data_from": "ea"}
    with pytest.raises(DocumentInvalid) as info:
        load(doc, REGISTRY)
    assert [f.message.split(":")[0] for f in info.value.faults] == ["{eb.Value} at position 12"]

    doc["activities"][6]["properties"]["value"] = "{ea.Value}/{a.Value}"
    for _ in range(5):
        h, _ = await run(doc)
        values = sorted(r.published[0]["Value"] for r in by_activity(h.runs())["after"])
        assert values == ["a1/1", "a2/2", "a3/3"]

    doc["activities"][6]["flatten"] = {"separator": " "}
    doc["activities"][6]["properties"]["value"] = "{j.Value}/{eb.Value}"
    for _ in range(5):
        h, _ = await run(doc)
        after = by_activity(h.runs())["after"]
        assert summary(after) == [("after", "success", 0, ("a1 a2 a3/bx by",))]


async def test_a_dead_branch_binds_nothing() -> None:
    """A branch whose fan-out published no item: its activity never ran, so joined it is
    empty; the live branch is joined as usual."""
    doc = _two_branches(flatten={"separator": " "})
    doc["activities"][2]["properties"]["values"] = []  # b publishes no item: eb never runs
    for _ in range(ROUNDS):
        h, outcome = await run(doc)
        runs = by_activity(h.runs())
        assert "eb" not in runs
        assert summary(runs["after"]) == [("after", "success", 0, ("a1 a2 a3/",))]
        assert outcome.status == "success"


def _single_past_junction() -> dict:
    return runbook(
        [
            act("start", "echo", value="go"),
            act("a", "echo", value="A"),
            act("b", "echo", value="B"),
            act("j", "junction"),
            act("after", "echo", value="{a.Value}+{b.Value}"),
        ],
        [
            link("start", "a"),
            link("start", "b", include=[cond("Value", "equals", "{{never}}")]),
            link("a", "j"),
            link("b", "j"),
            link("j", "after"),
        ],
    )


async def test_an_activity_that_runs_once_needs_no_flatten_but_a_dead_one_fails_the_run() -> None:
    doc = _single_past_junction()
    h, outcome = await run(doc)
    after = by_activity(h.runs())["after"]
    assert [(r.status, r.error) for r in after] == [
        ("failed", "{b.Value}: activity b did not run before the junction "
         "(in '{a.Value}+{b.Value}')"),
    ]  # fmt: skip
    assert outcome.status == "failed"
    doc["links"][1].pop("include")
    h, _ = await run(doc)
    assert by_activity(h.runs())["after"][0].published[0]["Value"] == "A+B"


async def test_an_activity_with_two_incoming_links_runs_twice_joined_in_link_order() -> None:
    doc = runbook(
        [
            act("start", "echo", value="s"),
            act("p", "jitter", value="p", delay=-0.003),
            act("q", "jitter", value="q", delay=-0.003),
            act("x", "jitter", value="x-{start.Value}", delay=-0.003),
            act("j", "junction"),
            {**act("after", "echo", value="{x.Value}"), "flatten": {"separator": ";"}},
        ],
        [
            link("start", "p"),
            link("start", "q"),
            link("q", "x"),
            link("p", "x"),
            link("x", "j"),
            link("j", "after"),
        ],
    )
    for _ in range(ROUNDS):
        h, _ = await run(doc)
        runs = by_activity(h.runs())
        assert len(runs["x"]) == 2
        assert runs["after"][0].published[0]["Value"] == "x-s;x-s"
    del doc["activities"][5]["flatten"]
    with pytest.raises(DocumentInvalid, match="'x' may run several times"):
        load(doc, REGISTRY)
