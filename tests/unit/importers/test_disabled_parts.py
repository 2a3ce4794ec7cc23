"""``enabled: false`` on links and activities (the document extension the SCO import
uses for SCO's disabled links): never followed, never run, a dead path for junctions."""

from __future__ import annotations

import pytest

from orch.document import DocumentInvalid, load
from tests.unit.runtime.helpers import REGISTRY, act, by_activity, link, run, runbook


def _ran(h) -> set[str]:
    return {r.activity for r in h.runs()}


async def test_a_disabled_link_is_not_followed() -> None:
    doc = runbook(
        [act("start", "t:echo", value="go"), act("off", "t:echo"), act("on", "t:echo")],
        [link("start", "off", enabled=False), link("start", "on")],
    )
    h, outcome = await run(doc)
    assert outcome.status == "success"
    assert _ran(h) == {"start", "on"}


async def test_a_disabled_activity_never_runs_nor_what_follows_it() -> None:
    off = {**act("off", "t:echo"), "enabled": False}
    doc = runbook(
        [act("start", "t:echo"), off, act("after", "t:echo")],
        [link("start", "off"), link("off", "after")],
    )
    h, outcome = await run(doc)
    assert outcome.status == "success"
    assert _ran(h) == {"start"}


async def test_a_junction_does_not_wait_for_a_disabled_branch() -> None:
    off = {**act("off", "t:echo"), "enabled": False}
    doc = runbook(
        [act("start", "t:echo"), act("a", "t:echo", value="A"), off,
         act("j", "core:junction", return_data_from="a"), act("end", "t:echo", value="{j.Value}")],
        [link("start", "a"), link("start", "off"), link("a", "j"), link("off", "j"),
         link("j", "end")],
    )
    h, outcome = await run(doc)
    assert outcome.status == "success"
    assert [r.published[0]["Value"] for r in by_activity(h.runs())["end"]] == ["A"]


async def test_a_failure_whose_only_link_is_disabled_fails_the_instance() -> None:
    doc = runbook(
        [act("start", "t:echo"), act("bad", "t:fail"), act("handler", "t:echo")],
        [link("start", "bad"),
         link("bad", "handler", enabled=False, include=[{"data": "Status", "op": "equals",
                                                         "value": "failed"}])],
    )
    h, outcome = await run(doc)
    assert outcome.status == "failed"
    assert "handler" not in _ran(h)


def test_the_starting_activity_cannot_be_disabled() -> None:
    doc = runbook([{**act("start", "t:echo"), "enabled": False}], [])
    with pytest.raises(DocumentInvalid) as e:
        load(doc, REGISTRY)
    assert [(f.path, f.code) for f in e.value.faults] == [
        ("$.activities[0].enabled", "disabled-start")
    ]


def test_explain_says_the_link_is_disabled() -> None:
    doc = runbook([act("start", "t:echo"), act("b", "t:echo")],
                  [link("start", "b", enabled=False)])
    compiled = load(doc, REGISTRY)
    (only,) = compiled.links
    assert not only.followed({"Status": "success"})
    assert "disabled" in only.explain({"Status": "success"})


def test_metadata_is_text_kept_with_the_document() -> None:
    doc = runbook([act("start", "t:echo")], [], metadata={"sco.unique_id": "{ABC}"})
    assert load(doc, REGISTRY).runbook.metadata == {"sco.unique_id": "{ABC}"}
