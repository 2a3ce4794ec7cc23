"""Text-file activities: line selection, find, append/insert/delete, search and replace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from activities._paths import ROOT_ENV
from activities.textfiles import (
    append_line,
    delete_line,
    find_text,
    insert_line,
    parse_lines,
    read_line,
    search_and_replace_text,
)
from orch.sdk import ActivityError
from orch.sdk.testing import run_activity


@pytest.fixture(autouse=True)
def _no_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ROOT_ENV, raising=False)


@pytest.fixture
def text(tmp_path: Path) -> Path:
    f = tmp_path / "f.txt"
    f.write_bytes(b"alpha\nbeta\ngamma\ndelta\n")
    return f


def test_parse_lines() -> None:
    assert parse_lines("1-END", 4) == [1, 2, 3, 4]
    assert parse_lines("3, 1", 4) == [1, 3]
    assert parse_lines("2-3,3-4", 4) == [2, 3, 4]
    assert parse_lines("end", 4) == [4]
    assert parse_lines("3-10, 9", 4) == [3, 4]
    assert parse_lines("END", 0) == []
    for bad in ("", "0", "a", "3-1", "1--2"):
        with pytest.raises(ActivityError) as err:
            parse_lines(bad, 4)
        assert err.value.message.startswith("property lines:")


async def test_read_line_items(text: Path) -> None:
    r = await run_activity(read_line, {"path": str(text), "lines": "2-3"})
    assert r.items == [{"LineNumber": "2", "Line": "beta"}, {"LineNumber": "3", "Line": "gamma"}]
    r = await run_activity(read_line, {"path": str(text)})
    assert [i["Line"] for i in r.items] == ["alpha", "beta", "gamma", "delta"]
    r = await run_activity(read_line, {"path": str(text), "lines": "9"})
    assert (r.status, r.items) == ("success", [])


async def test_read_line_crlf_and_encoding(tmp_path: Path) -> None:
    f = tmp_path / "win.txt"
    f.write_bytes("caf\xe9\r\nna\xefve\r\n".encode("latin-1"))
    r = await run_activity(read_line, {"path": str(f), "encoding": "latin-1"})
    assert [i["Line"] for i in r.items] == ["café", "naïve"]
    r = await run_activity(read_line, {"path": str(f)})
    assert (r.status, r.error) == ("failed", f"property encoding: {f} is not valid utf-8 (byte 3)")
    r = await run_activity(read_line, {"path": str(f), "encoding": "klingon"})
    assert (r.status, r.error) == ("failed", "property encoding: unknown encoding 'klingon'")


async def test_read_line_missing_file(tmp_path: Path) -> None:
    r = await run_activity(read_line, {"path": str(tmp_path / "none")})
    assert (r.status, r.error) == ("failed", f"property path: {tmp_path / 'none'} does not exist")


async def test_find_text_plain_regex_case(text: Path) -> None:
    r = await run_activity(find_text, {"path": str(text), "text": "ta"})
    assert r.items == [
        {"LineNumber": "2", "Line": "beta", "Match": "ta"},
        {"LineNumber": "4", "Line": "delta", "Match": "ta"},
    ]
    r = await run_activity(find_text, {"path": str(text), "text": "^[gd]\\w+a$", "regex": True})
    assert [i["LineNumber"] for i in r.items] == ["3", "4"]
    r = await run_activity(find_text, {"path": str(text), "text": "ALPHA"})
    assert r.items == []
    r = await run_activity(find_text, {"path": str(text), "text": "ALPHA", "case_sensitive": False})
    assert r.items == [{"LineNumber": "1", "Line": "alpha", "Match": "alpha"}]
    r = await run_activity(find_text, {"path": str(text), "text": "a.c"})
    assert r.items == []  # plain text: the dot is a dot


async def test_find_text_failures(text: Path) -> None:
    r = await run_activity(find_text, {"path": str(text), "text": "(", "regex": True})
    assert r.status == "failed"
    assert r.error is not None and r.error.startswith("property text: bad regular expression")
    r = await run_activity(find_text, {"path": str(text), "text": "zzz", "fail_if_none": True})
    assert (r.status, r.error) == ("failed", f"'zzz' not found in {text}")


async def test_append_line_adds_missing_newline_and_creates(tmp_path: Path) -> None:
    f = tmp_path / "log.txt"
    f.write_bytes(b"one")
    r = await run_activity(append_line, {"path": str(f), "text": "two"})
    assert (r.status, r.items) == ("success", [{"Path": str(f)}])
    assert f.read_bytes() == b"one\ntwo\n"
    await run_activity(append_line, {"path": str(f), "text": "three\nfour"})
    assert f.read_bytes() == b"one\ntwo\nthree\nfour\n"
    new = tmp_path / "new.txt"
    r = await run_activity(append_line, {"path": str(new), "text": "first"})
    assert new.read_bytes() == b"first\n"
    r = await run_activity(append_line, {"path": str(tmp_path / "x"), "text": "a", "create": False})
    assert (r.status, r.error) == ("failed", f"property path: {tmp_path / 'x'} does not exist")


async def test_append_line_keeps_crlf(tmp_path: Path) -> None:
    f = tmp_path / "win.txt"
    f.write_bytes(b"a\r\nb\r\n")
    await run_activity(append_line, {"path": str(f), "text": "c"})
    assert f.read_bytes() == b"a\r\nb\r\nc\r\n"


async def test_insert_line(text: Path) -> None:
    r = await run_activity(insert_line, {"path": str(text), "line_number": "2", "text": "new"})
    assert r.items == [{"Path": str(text), "LineCount": "5"}]
    assert text.read_text() == "alpha\nnew\nbeta\ngamma\ndelta\n"
    r = await run_activity(insert_line, {"path": str(text), "text": "last"})
    assert text.read_text().endswith("delta\nlast\n")
    r = await run_activity(insert_line, {"path": str(text), "line_number": "1", "text": "a\nb"})
    assert text.read_text().startswith("a\nb\nalpha\n")
    r = await run_activity(insert_line, {"path": str(text), "line_number": "99", "text": "x"})
    assert (r.status, r.error) == (
        "failed",
        f"property line_number: 99 is past the end of {text} (8 lines)",
    )
    r = await run_activity(insert_line, {"path": str(text), "line_number": "zero", "text": "x"})
    assert (r.status, r.error) == (
        "failed",
        "property line_number: 'zero' is not a line number or END",
    )


async def test_insert_line_after_unterminated_last_line(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_bytes(b"a\r\nb")
    await run_activity(insert_line, {"path": str(f), "text": "c"})
    assert f.read_bytes() == b"a\r\nb\r\nc\r\n"


async def test_delete_line_keeps_mode(text: Path) -> None:
    os.chmod(text, 0o600)
    r = await run_activity(delete_line, {"path": str(text), "lines": "1,3-END"})
    assert r.items == [{"Path": str(text), "Deleted": "3", "LineCount": "1"}]
    assert text.read_text() == "beta\n"
    assert text.stat().st_mode & 0o777 == 0o600
    r = await run_activity(delete_line, {"path": str(text), "lines": "5"})
    assert r.items == [{"Path": str(text), "Deleted": "0", "LineCount": "1"}]
    r = await run_activity(delete_line, {"path": str(text)})
    assert (r.status, r.error) == ("failed", "property lines is required")
    assert [p.name for p in text.parent.iterdir()] == ["f.txt"]  # no temporary file left


async def test_rewrite_through_a_link_keeps_the_link(tmp_path: Path, text: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(text)
    await run_activity(delete_line, {"path": str(link), "lines": "1"})
    assert link.is_symlink()
    assert text.read_text() == "beta\ngamma\ndelta\n"


async def test_search_and_replace_plain_and_regex(text: Path) -> None:
    r = await run_activity(
        search_and_replace_text, {"path": str(text), "search": "a\n", "replace": "A\\1\n"}
    )
    assert r.items == [{"Path": str(text), "Replacements": "4"}]
    assert text.read_text() == "alphA\\1\nbetA\\1\ngammA\\1\ndeltA\\1\n"
    text.write_text("x=1\ny=22\n")
    r = await run_activity(
        search_and_replace_text,
        {"path": str(text), "search": r"(\w)=(\d+)", "replace": r"\2=\1", "regex": True},
    )
    assert r.items[0]["Replacements"] == "2"
    assert text.read_text() == "1=x\n22=y\n"
    r = await run_activity(
        search_and_replace_text,
        {
            "path": str(text),
            "search": "X",
            "replace": "z",
            "case_sensitive": False,
            "max_replacements": 1,
        },
    )
    assert r.items[0]["Replacements"] == "1"
    assert text.read_text() == "1=z\n22=y\n"


async def test_search_and_replace_no_match_leaves_file(text: Path) -> None:
    before = text.stat().st_mtime_ns
    r = await run_activity(search_and_replace_text, {"path": str(text), "search": "zzz"})
    assert r.items == [{"Path": str(text), "Replacements": "0"}]
    assert text.stat().st_mtime_ns == before


async def test_search_and_replace_bad_inputs(text: Path) -> None:
    r = await run_activity(
        search_and_replace_text,
        {"path": str(text), "search": "(a)", "replace": r"\5", "regex": True},
    )
    assert r.status == "failed" and (r.error or "").startswith("property replace:")
    r = await run_activity(search_and_replace_text, {"path": str(text), "search": ""})
    assert (r.status, r.error) == ("failed", "property search: must not be empty")


async def test_allowed_root_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "o.txt"
    outside.write_text("x\n")
    monkeypatch.setenv(ROOT_ENV, str(root))
    r = await run_activity(append_line, {"path": str(outside), "text": "y"})
    assert (r.status, r.error) == (
        "failed",
        f"property path: {outside} is outside the allowed root {root}",
    )
    assert outside.read_text() == "x\n"
