"""``orch test``: output and exit codes on passing, failing, warning and branching runbooks,
child runbooks beside the file, --json lines, break points and answers read from stdin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.runtime.helpers import REGISTRY
from tests.unit.tester.helpers import (
    EXAMPLES,
    copy_example,
    events,
    example,
    failing,
    lines,
    orch_test,
    write,
)

HELLO = str(EXAMPLES / "hello.json")


def test_passing_runbook_shows_each_run_and_exits_0() -> None:
    result = orch_test(HELLO, "--param", "Name=World")
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert out[0] == f"Testing /Examples/Hello ({HELLO})"
    assert out[1] == "parameters: Name=World"
    assert "▶ greet “Build the greeting”" in out
    i = out.index("▶ greet “Build the greeting”")
    assert out[i + 1].startswith("  greet: success in ")
    assert out[i + 2 : i + 6] == [
        "    Output: Hello, World!",
        "    ErrorOutput: ''",
        "    ExitCode: 0",
        "    ↳ link greet → done followed: Status equals 'success' (Status is 'success')",
    ]
    assert '    returned: Greeting="Hello, World!"' in out
    assert out[-3].startswith("Result: success in ") and out[-3].endswith("(3 runs)")
    assert out[-2:] == ["returned data:", "    Greeting: Hello, World!"]


@pytest.mark.parametrize(
    ("number", "taken"), [("7", "small"), ("50", "medium"), ("42", "answer"), ("5000", "big")]
)
def test_branching_explains_why_each_link_was_followed_or_not(number: str, taken: str) -> None:
    result = orch_test(str(EXAMPLES / "branching.json"), "-p", f"Number={number}")
    assert result.exit_code == 0, result.output
    out = lines(result)
    followed = [line.strip() for line in out if " followed: " in line and "measure →" in line]
    assert [f for f in followed if " not followed: " not in f] == [
        next(f for f in followed if f.startswith(f"↳ link measure → {taken} followed"))
    ]
    assert f"▶ {taken}" in out
    if number == "42":
        assert "↳ link measure → medium not followed: excluded by Output equals '42' " \
               "(Output is '42')" in [line.strip() for line in out]  # fmt: skip
    if number == "7":
        assert "↳ link measure → big not followed: no include condition holds: " \
               "Output gt '100' (Output is '7'); Output matches '^[0-9]{4,}$' (Output is '7')" \
               in [line.strip() for line in out]  # fmt: skip


def test_failing_runbook_exits_1(tmp_path: Path) -> None:
    result = orch_test(str(write(tmp_path, "failing.json", failing())))
    assert result.exit_code == 1, result.output
    out = lines(result)
    i = out.index("▶ check")
    assert out[i + 1].startswith("  check: failed in ")
    assert out[i + 2 : i + 4] == ["    error: exit code 3", "    Output: nope"]
    stripped = [line.strip() for line in out]
    assert "↳ link check → done not followed: no include condition holds: " \
           "Status equals 'success' (Status is 'failed')" in stripped  # fmt: skip
    assert "▶ done" not in out
    assert out[-1].startswith("Result: failed in ") and out[-1].endswith("— check: exit code 3")


def test_warning_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("orch.cli.tester.default_registry", lambda: REGISTRY)
    doc = {
        "format": "orch.runbook/1", "name": "Careful", "folder": "/Tests",
        "activities": [{"id": "w", "type": "t:warn"}, {"id": "after", "type": "t:echo"}],
        "links": [{"from": "w", "to": "after", "include": []}],
    }  # fmt: skip
    result = orch_test(str(write(tmp_path, "warn.json", doc)))
    assert result.exit_code == 2, result.output
    assert any(line.startswith("  w: warning in ") for line in lines(result))
    assert lines(result)[-1].startswith("Result: warning in ")


def test_fanout_numbers_items_and_their_links() -> None:
    result = orch_test(str(EXAMPLES / "fanout.json"))
    assert result.exit_code == 0, result.output
    out = [line.strip() for line in lines(result)]
    assert out[out.index("list: success in " + out[out.index("▶ list “One name per line”") + 1]
                         .split(" in ", 1)[1]) + 1 :][:3] == [
        "#1 Line=alpha, LineNumber=1",
        "#2 Line=beta, LineNumber=2",
        "#3 Line=gamma, LineNumber=3",
    ]  # fmt: skip
    assert "↳ #1–#3 link list → shout followed: Status equals 'success' (Status is 'success')" \
        in out  # fmt: skip
    assert "↳ #2 link list → nobody not followed: no include condition holds: " \
           "Line equals 'nobody' (Line is 'beta')" in out  # fmt: skip
    assert "▶ shout “Shout each name” for item #2 of list" in out
    assert sum(line.startswith("shout for item #") for line in out) == 3
    assert "Shouted: ALPHA! BETA! GAMMA!" in out


def test_json_prints_one_event_per_line() -> None:
    result = orch_test(HELLO, "-p", "Name=Ann", "--json")
    assert result.exit_code == 0, result.output
    evs = events(result)
    assert [e["event"] for e in evs] == [
        "started",
        "activity-started", "activity-ended", "link",
        "activity-started", "activity-ended", "link",
        "activity-started", "activity-ended",
        "finished",
    ]  # fmt: skip
    assert evs[0] == {"event": "started", "runbook": "/Examples/Hello", "source": HELLO,
                      "parameters": {"Name": "Ann"}, "case": None}  # fmt: skip
    greet = evs[5]
    assert greet["activity"] == "greet" and greet["status"] == "success"
    assert greet["published"][0]["Output"] == "Hello, Ann!"
    assert greet["duration_ms"] >= 0
    link = evs[6]
    assert (link["source"], link["target"], link["followed"], link["item"]) == (
        "greet", "done", True, 0
    )  # fmt: skip
    end = evs[-1]
    assert (end["status"], end["exit_code"], end["runs"]) == ("success", 0, 3)
    assert end["returned_data"] == {"Greeting": "Hello, Ann!"}


def test_child_runbook_is_found_beside_the_file(tmp_path: Path) -> None:
    parent = copy_example(tmp_path, "parent")
    copy_example(tmp_path, "child")
    result = orch_test(str(parent), "--json")
    assert result.exit_code == 0, result.output
    evs = events(result)
    child = next(e for e in evs if e["event"] == "child-started")
    assert (child["runbook"], child["depth"], child["source"]) == (
        "/Examples/Child", 1, str(tmp_path / "child.json")
    )  # fmt: skip
    assert {e["runbook"] for e in evs if e["event"] == "activity-ended" and e["depth"] == 1} == {
        "/Examples/Child"
    }
    ended = next(e for e in evs if e["event"] == "child-ended")
    assert ended["returned_data"] == {"Doubled": "42"}
    assert evs[-1]["returned_data"]["Answer"] == "21 doubled is 42"

    text = orch_test(str(parent))
    assert f"  ┌ child runbook /Examples/Child from {tmp_path / 'child.json'}" in lines(text)
    assert "  └ child runbook /Examples/Child ended success" in lines(text)
    assert "  ▶ double “Double it”" in lines(text)


def test_child_runbook_by_relative_file_name(tmp_path: Path) -> None:
    doc = example("parent")
    doc["activities"][1]["properties"]["runbook"] = "lib/doubler"
    (tmp_path / "lib").mkdir()
    write(tmp_path / "lib", "doubler.json", example("child"))
    result = orch_test(str(write(tmp_path, "parent.json", doc)), "-p", "Number=5")
    assert result.exit_code == 0, result.output
    assert "    Answer: 5 doubled is 10" in lines(result)


def test_missing_child_fails_the_invoking_activity(tmp_path: Path) -> None:
    parent = copy_example(tmp_path, "parent")
    result = orch_test(str(parent))
    assert result.exit_code == 1
    error = next(line for line in lines(result) if line.startswith("    error: "))
    assert "no runbook '/Examples/Child'" in error and "--url" in error


def test_invalid_document_lists_every_fault(tmp_path: Path) -> None:
    doc = example("hello")
    doc["folder"] = "Examples"
    doc["activities"][1]["type"] = "run_programme"
    file = write(tmp_path, "bad.json", doc)
    result = orch_test(str(file))
    assert result.exit_code == 1
    assert lines(result) == [
        f"{file}: $.folder: the folder must be an absolute path like /Ops/Services "
        "(did you mean '/Examples'?) [bad-folder]",
        f"{file}: $.activities[1].type: no installed activity type is called 'run_programme' "
        "(did you mean 'run_program'?) [unknown-type]",
    ]
    as_json = events(orch_test(str(file), "--json"))
    assert as_json[0]["event"] == "invalid" and len(as_json[0]["faults"]) == 2


def test_bad_parameters_exit_1() -> None:
    result = orch_test(HELLO, "-p", "Nme=x")
    assert result.exit_code == 1
    assert "$.parameters.Nme: the runbook has no parameter 'Nme'" in result.stdout


def test_missing_file_is_one_line_error() -> None:
    result = orch_test("no/such/file.json")
    assert result.exit_code == 1
    assert result.stderr.strip() == "orch: error: no/such/file.json: No such file"


def test_break_pauses_before_the_named_activity_only() -> None:
    result = orch_test(HELLO, "-p", "Name=B", "--break", "greet", input="c\n")
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert [line for line in out if "paused" in line] == ["⏸ paused before greet (break point)"]
    assert out.index("⏸ paused before greet (break point)") < next(
        i for i, line in enumerate(out) if "▶ greet" in line
    )


def test_break_on_unknown_activity_is_an_error() -> None:
    result = orch_test(HELLO, "-p", "Name=B", "--break", "gret")
    assert result.exit_code == 1
    assert "--break gret: /Examples/Hello has no such activity (ids: start, greet, done)" in (
        result.stderr
    )


def test_step_answers_from_stdin_skip_and_quit() -> None:
    # step over start, skip greet: nothing is recorded and the path below it is dead
    result = orch_test(HELLO, "-p", "Name=C", "--step", input="s\nk\n")
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert "⤼ skipped greet: nothing recorded, the path below it is dead" in out
    assert "▶ greet “Build the greeting”" not in out
    assert out[-1].endswith("(1 run, skipped: greet)")

    quit_ = orch_test(HELLO, "-p", "Name=C", "--step", input="s\nq\n")
    assert quit_.exit_code == 1
    assert lines(quit_)[-1].startswith("Result: stopped")


def test_end_of_input_at_a_pause_quits() -> None:
    result = orch_test(HELLO, "-p", "Name=C", "--step", input="")
    assert result.exit_code == 1
    assert lines(result)[-1].startswith("Result: stopped in ")
    assert "▶ start “Who to greet”" not in lines(result)


def test_step_json_mode_reads_commands_and_reports_pauses_and_data() -> None:
    result = orch_test(HELLO, "-p", "Name=D", "--step", "--json", input="s\nd\nc\n")
    assert result.exit_code == 0, result.output
    evs = events(result)
    kinds = [e["event"] for e in evs]
    assert kinds.count("paused") == 2  # start, then greet; "c" ran the rest without pausing
    data = next(e for e in evs if e["event"] == "data")
    assert data["activities"]["start"][0]["Name"] == "D"
    assert data["parameters"] == {"Name": "D"}


def test_unknown_command_at_a_pause_asks_again() -> None:
    result = orch_test(HELLO, "-p", "Name=E", "--break", "done", input="what\nc\n")
    assert result.exit_code == 0
    assert "unknown command 'what': [c]ontinue, [s]tep (Enter), s[k]ip, [q]uit, show [d]ata" in (
        lines(result)
    )


def test_json_output_is_valid_for_every_example(tmp_path: Path) -> None:
    for name in ("hello", "branching", "fanout"):
        params = ["-p", "Name=x"] if name == "hello" else []
        result = orch_test(str(EXAMPLES / f"{name}.json"), *params, "--json")
        assert result.exit_code == 0, result.output
        for line in result.stdout.splitlines():
            assert isinstance(json.loads(line), dict)


def test_variables_are_given_with_var(tmp_path: Path) -> None:
    doc = {
        "format": "orch.runbook/1", "name": "Vars", "folder": "/Tests",
        "returns": [{"name": "Where"}],
        "activities": [{"id": "done", "type": "return_data",
                        "properties": {"data": {"Where": "{variable:Site}"}}}],
    }  # fmt: skip
    result = orch_test(str(write(tmp_path, "vars.json", doc)), "--var", "Site=Lyon")
    assert result.exit_code == 0, result.output
    assert lines(result)[-1] == "    Where: Lyon"
