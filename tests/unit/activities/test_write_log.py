"""write_log: a message (and its level) to the instance log, through the SDK Context."""

from __future__ import annotations

from typing import Any

import pytest

from activities.instancelog import write_log
from orch.sdk import Context, InstanceInfo, convert_inputs, to_items
from orch.sdk.testing import run_activity
from tests.unit.runtime.helpers import act, link, run, runbook


class Lines:
    """An instance log sink that keeps what it is given (the SDK's LogSink)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str, str, str]] = []

    def write(self, instance_id: str, run_id: str, activity: str, stream: str, text: str) -> None:
        self.lines.append((instance_id, run_id, activity, stream, text))


async def _write(properties: dict[str, Any]) -> tuple[list[dict[str, str]], list[tuple]]:
    sink = Lines()
    ctx = Context(InstanceInfo(instance_id="i-1", log_sink=sink), "note", "Note", "r-1")
    out = await write_log.fn(ctx, convert_inputs(write_log, properties))
    assert ctx.status == "success"
    return to_items(out), sink.lines


async def test_a_line_goes_to_the_instance_log_on_the_log_stream() -> None:
    items, lines = await _write({"message": "backup of {db} done"})
    assert lines == [("i-1", "r-1", "note", "log", "backup of {db} done")]
    assert items == [{"Message": "backup of {db} done", "Level": "info", "LineCount": "1"}]


@pytest.mark.parametrize(
    ("level", "written"),
    [("info", "disk at 91%"), ("warning", "WARNING: disk at 91%"), ("error", "ERROR: disk at 91%")],
)
async def test_the_level_is_written_as_a_prefix(level: str, written: str) -> None:
    items, lines = await _write({"message": "disk at 91%", "level": level})
    assert [line[4] for line in lines] == [written]
    assert items[0]["Level"] == level
    assert items[0]["Message"] == "disk at 91%"


async def test_several_lines_are_several_entries_each_with_the_prefix() -> None:
    items, lines = await _write({"message": "first\r\nsecond\n\nfourth\n", "level": "warning"})
    assert [line[4] for line in lines] == [
        "WARNING: first", "WARNING: second", "WARNING: ", "WARNING: fourth",
    ]  # fmt: skip
    assert items[0]["LineCount"] == "4"


async def test_an_empty_message_writes_one_empty_line() -> None:
    items, lines = await _write({"message": ""})
    assert [line[4] for line in lines] == [""]
    assert items[0]["LineCount"] == "1"


async def test_a_bad_level_fails_naming_the_property() -> None:
    r = await run_activity(write_log, {"message": "x", "level": "debug"})
    assert r.status == "failed"
    assert "level" in (r.error or "")
    r = await run_activity(write_log, {"level": "info"})
    assert r.status == "failed"
    assert "message" in (r.error or "")


async def test_without_an_instance_log_it_still_succeeds() -> None:
    r = await run_activity(write_log, {"message": "only the server log sees this"})
    assert r.status == "success"
    assert r.items == [
        {"Message": "only the server log sees this", "Level": "info", "LineCount": "1"}
    ]


async def test_in_a_runbook_the_rendered_message_reaches_the_instance_log() -> None:
    sink = Lines()
    doc = runbook(
        [
            act("start", "items", values=["web01", "web02"]),
            act("note", "write_log", message="restarting {start.Value}", level="warning"),
            act("done", "echo", value="{note.Message}|{note.Level}"),
        ],
        [link("start", "note"), link("note", "done")],
    )
    h, outcome = await run(doc, log_sink=sink)
    assert outcome.status == "success"
    notes = [r for r in h.runs() if r.activity == "note"]
    assert sorted((line[1], line[2], line[3], line[4]) for line in sink.lines) == sorted(
        (r.run_id, "note", "log", f"WARNING: restarting {r.published[0]['Message'][11:]}")
        for r in notes
    )
    assert sorted(line[4] for line in sink.lines) == [
        "WARNING: restarting web01", "WARNING: restarting web02",
    ]  # fmt: skip
    assert {line[0] for line in sink.lines} == {h.instance_id}
    done = sorted(r.published[0]["Value"] for r in h.runs() if r.activity == "done")
    assert done == ["restarting web01|warning", "restarting web02|warning"]
