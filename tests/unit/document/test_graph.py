"""The compiled runbook: what the runtime reads instead of the document."""

from __future__ import annotations

import pytest

from orch.document import DocumentInvalid, MappingScope, compile_runbook, decode_document, load
from tests.unit.document.helpers import REGISTRY, base


def diamond() -> dict:
    doc = base()
    doc["activities"] += [
        {"id": "left", "type": "wait", "name": "Left side", "properties": {"seconds": 1}},
        {"id": "right", "type": "wait", "properties": {"seconds": "{start.Name}"},
         "timeout_seconds": 5},
        {"id": "join", "type": "junction", "properties": {"return_data_from": "left"}},
        {"id": "tail", "type": "run_program", "flatten": {"separator": ";"},
         "properties": {"program": "echo", "args": ["{variable:Region}", "{join.Status}"]}},
    ]  # fmt: skip
    doc["links"] += [
        {"from": "start", "to": "left"},
        {"from": "start", "to": "right", "include": [], "delay_seconds": 2},
        {"from": "left", "to": "join"},
        {"from": "right", "to": "join", "name": "r"},
        {"from": "join", "to": "tail"},
    ]
    return doc


def test_order_start_and_upstream() -> None:
    c = load(diamond(), REGISTRY)
    assert c.start == "start"
    # topological; among the activities ready next, the first in the document goes first
    assert c.order == ("start", "greet", "done", "left", "right", "join", "tail")
    assert c.activities["tail"].upstream == frozenset({"start", "left", "right", "join"})
    assert c.activities["start"].upstream == frozenset()
    assert c.activities["done"].upstream == frozenset({"start", "greet"})


def test_links_in_and_out() -> None:
    c = load(diamond(), REGISTRY)
    assert [lk.index for lk in c.links] == list(range(7))
    join = c.activities["join"]
    assert [(lk.source, lk.index) for lk in join.incoming] == [("left", 4), ("right", 5)]
    assert [lk.target for lk in join.outgoing] == ["tail"]
    start = c.activities["start"]
    assert [lk.target for lk in start.outgoing] == ["greet", "left", "right"]
    to_right = start.outgoing[2]
    assert to_right.include is None and to_right.delay_seconds == 2
    assert join.incoming[1].name == "r"
    assert c.activities["start"].incoming == ()


def test_activity_details() -> None:
    c = load(diamond(), REGISTRY)
    left, right, join, tail = (c.activities[a] for a in ("left", "right", "join", "tail"))
    assert left.display_name == "Left side" and right.display_name == "right"
    assert left.type.name == "wait" and left.type_name == "wait"
    assert left.timeout_seconds == 3600  # the type's default
    assert right.timeout_seconds == 5  # its own
    assert c.activities["greet"].timeout_seconds is None
    assert join.is_junction and not left.is_junction
    assert join.return_data_from == "left" and left.return_data_from is None
    assert tail.flatten is not None and tail.flatten.separator == ";"
    assert [c.activities[a].index for a in ("start", "tail")] == [0, 6]
    assert right.properties.references == frozenset({("start", "Name")})
    assert right.properties.render(MappingScope({"start": {"Name": "2"}})) == {"seconds": "2"}


def test_runbook_level_facts() -> None:
    c = load(diamond(), REGISTRY)
    assert c.variables == frozenset({"Region"})
    assert [p.name for p in c.parameters] == ["Name"]
    assert [r.name for r in c.returns] == ["Greeting"]
    assert not c.is_monitor
    assert (c.name, c.path) == ("Greet", "/Tests/Greet")
    assert c.runbook.folder == "/Tests"


def test_loop_is_compiled() -> None:
    doc = base()
    doc["activities"][1]["loop"] = {
        "until": [{"data": "ExitCode", "op": "equals", "value": 0}],
        "max_attempts": 3,
    }
    greet = load(doc, REGISTRY).activities["greet"]
    assert greet.loop is not None and greet.loop.max_attempts == 3
    assert [str(c) for c in greet.loop_until] == ["ExitCode equals '0'"]
    assert greet.loop_until[0].test({"ExitCode": "0"})
    assert load(base(), REGISTRY).activities["greet"].loop_until == ()


def test_monitor_runbook() -> None:
    doc = base()
    doc["activities"][0] = {"id": "start", "type": "watch_file", "properties": {"path": "/x"}}
    doc["activities"][1]["properties"]["args"] = ["{start.Path}"]
    c = load(doc, REGISTRY)
    assert c.is_monitor
    assert c.parameters == ()


def test_no_initialize_data_means_no_parameters() -> None:
    doc = base()
    doc["activities"] = doc["activities"][1:]
    doc["activities"][0]["properties"]["args"] = ["hi"]
    doc["links"] = doc["links"][1:]
    c = load(doc, REGISTRY)
    assert c.start == "greet" and c.parameters == ()


def test_single_activity() -> None:
    doc = base()
    doc["activities"] = [{"id": "only", "type": "wait", "properties": {"seconds": 0}}]
    doc["links"] = []
    c = load(doc, REGISTRY)
    assert (c.start, c.order) == ("only", ("only",))


def test_compile_runbook_raises_document_invalid() -> None:
    doc = base()
    doc["links"].append({"from": "done", "to": "start"})
    with pytest.raises(DocumentInvalid) as info:
        compile_runbook(decode_document(doc), REGISTRY)
    assert {f.code for f in info.value.faults} >= {"cycle", "no-start"}


def test_compile_runbook_of_a_valid_document() -> None:
    c = compile_runbook(decode_document(base()), REGISTRY)
    assert c.order == ("start", "greet", "done")
