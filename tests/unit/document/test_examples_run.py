"""The examples do what their descriptions say, run by the actor runtime in memory.

Uses the runtime tests' harness (MemoryStore, real core activities, real
programs: echo, sh, expr), so no database is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.runtime.helpers import run

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


async def test_hello() -> None:
    _, outcome = await run(example("hello"), {"Name": "World"})
    assert (outcome.status, outcome.returned_data) == ("success", {"Greeting": "Hello, World!"})


@pytest.mark.parametrize(
    ("number", "size", "path"),
    [(None, "the answer (42)", "answer"), (7, "small", "small"), (50, "medium", "medium"),
     (5000, "big", "big"), (150, "big", "big")],
)  # fmt: skip
async def test_branching(number: int | None, size: str, path: str) -> None:
    params = {} if number is None else {"Number": number}
    h, outcome = await run(example("branching"), params)
    assert (outcome.status, outcome.returned_data) == ("success", {"Size": size})
    assert [r.activity for r in h.runs()] == ["start", "measure", path]


async def test_fanout_joins_live_branches_and_skips_the_dead_one() -> None:
    h, outcome = await run(example("fanout"), {"Names": "alpha beta gamma"})
    assert outcome.status == "success"
    assert outcome.returned_data == {
        "Shouted": "ALPHA! BETA! GAMMA!",
        "Count": "3",
        "Numbered": "1: alpha 2: beta 3: gamma",
    }
    ran = [r.activity for r in h.runs()]
    assert ran.count("shout") == 3 and ran.count("number") == 3
    assert "nobody" not in ran
    assert ran.count("join") == 1 and ran.count("done") == 1


async def test_scripts_and_bodies_are_used_as_written() -> None:
    _, outcome = await run(example("scripts"), {"Hosts": "a b c d"})
    assert outcome.status == "success"
    assert outcome.returned_data == {
        "Report": "4 hosts (big) for Scripts as written",
        "Body": '{"hosts": "a b c d", "tags": ["a", ["b"]], "meta": {"by": "Scripts as written"}}',
    }


async def test_parent_publishes_what_the_child_returned() -> None:
    _, outcome = await run(
        example("parent"), {"Number": 21}, runbooks={"/Examples/Child": example("child")}
    )
    assert outcome.status == "success"
    assert outcome.returned_data["Answer"] == "21 doubled is 42"
    assert outcome.returned_data["ChildJob"]
