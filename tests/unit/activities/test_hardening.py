"""Hardening (issue 11): no shell between a document and a program, and the text file
activities kept inside ``ORCH_FILES_ROOT`` against ``..`` and symbolic links."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from activities._paths import ROOT_ENV
from activities.program import run_program
from activities.scripts import run_script
from activities.textfiles import (
    append_line,
    delete_line,
    find_text,
    insert_line,
    read_line,
    search_and_replace_text,
)
from orch.sdk.testing import run_activity

INJECTIONS = ["; touch {m}", "$(touch {m})", "`touch {m}`", "| touch {m}", "&& touch {m}",
              "\ntouch {m}"]


def _payloads(tmp_path: Path) -> tuple[list[str], list[Path]]:
    marks = [tmp_path / f"mark{i}" for i in range(len(INJECTIONS))]
    return [s.format(m=m) for s, m in zip(INJECTIONS, marks, strict=True)], marks


async def test_run_program_arguments_reach_the_program_uninterpreted(tmp_path: Path) -> None:
    args, marks = _payloads(tmp_path)
    code = "import json, sys; print(json.dumps(sys.argv[1:]))"
    r = await run_activity(run_program, {"program": sys.executable, "args": ["-c", code, *args]})
    assert r.status == "success", r.error
    assert json.loads(r.items[0]["Output"]) == args
    assert not any(m.exists() for m in marks)


async def test_run_program_name_is_not_a_command_line(tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    r = await run_activity(run_program, {"program": f"echo hi; touch {mark}"})
    assert r.status == "failed"
    assert not mark.exists()
    r = await run_activity(run_program, {"program": "echo", "env": {"X": f"$(touch {mark})"},
                                         "args": ["$X"]})
    assert r.items[0]["Output"] == "$X" and not mark.exists()


async def test_run_script_arguments_are_not_shell_text(tmp_path: Path) -> None:
    """The script is the document's own shell text; its arguments stay data."""
    args, marks = _payloads(tmp_path)
    script = 'for a in "$@"; do printf "%s\\0" "$a"; done\n'
    r = await run_activity(run_script, {"script": script, "interpreter": "bash", "args": args})
    assert r.status == "success", r.error
    assert r.items[0]["Output"].split("\x00")[: len(args)] == args
    assert not any(m.exists() for m in marks)


async def test_run_script_interpreter_is_a_fixed_choice(tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    r = await run_activity(run_script, {"script": "print(1)",
                                        "interpreter": f"python3; touch {mark}"})
    assert r.status == "failed" and "interpreter" in (r.error or "")
    assert not mark.exists()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "root"
    base.mkdir()
    (base / "inside.txt").write_text("ok\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    (base / "link").symlink_to(tmp_path / "outside")
    (base / "file-link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    monkeypatch.setenv(ROOT_ENV, str(base))
    return base


TEXT_ACTIVITIES = [
    (read_line, {}),
    (find_text, {"text": "secret"}),
    (append_line, {"text": "planted"}),
    (insert_line, {"text": "planted"}),
    (delete_line, {"lines": "1"}),
    (search_and_replace_text, {"search": "secret", "replace": "x"}),
]


@pytest.mark.parametrize(("fn", "extra"), TEXT_ACTIVITIES, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("escape", ["dotdot", "dir-link", "file-link"])
async def test_text_file_activities_stay_inside_the_root(
    root: Path, fn: object, extra: dict[str, str], escape: str
) -> None:
    path = {
        "dotdot": f"{root}/../outside/secret.txt",
        "dir-link": str(root / "link" / "secret.txt"),
        "file-link": str(root / "file-link.txt"),
    }[escape]
    r = await run_activity(fn, {"path": path, **extra})  # type: ignore[arg-type]
    assert r.status == "failed"
    assert r.error == f"property path: {path} is outside the allowed root {root}"
    assert (root.parent / "outside" / "secret.txt").read_text() == "secret\n"
    r = await run_activity(read_line, {"path": str(root / "inside.txt")})
    assert r.status == "success", r.error
