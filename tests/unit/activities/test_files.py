"""File and folder activities on a temporary folder, with and without an allowed root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from activities._paths import ROOT_ENV
from activities.files import (
    copy_file,
    create_folder,
    delete_file,
    delete_folder,
    get_file_status,
    move_file,
    rename_file,
)
from orch.sdk.testing import run_activity


@pytest.fixture(autouse=True)
def _no_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ROOT_ENV, raising=False)


async def test_create_folder_with_parents_and_again(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    r = await run_activity(create_folder, {"path": str(target)})
    assert (r.status, r.items) == ("success", [{"Path": str(target), "Created": "true"}])
    assert target.is_dir()
    r = await run_activity(create_folder, {"path": str(target)})
    assert r.items == [{"Path": str(target), "Created": "false"}]
    assert create_folder.rerunnable


async def test_create_folder_over_a_file_fails(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = await run_activity(create_folder, {"path": str(tmp_path / "f")})
    assert (r.status, r.error) == (
        "failed",
        f"property path: {tmp_path / 'f'} exists and is not a folder",
    )


async def test_relative_and_empty_paths_are_refused() -> None:
    r = await run_activity(create_folder, {"path": "rel/dir"})
    assert (r.status, r.error) == ("failed", "property path: rel/dir is not an absolute path")
    r = await run_activity(create_folder, {"path": ""})
    assert (r.status, r.error) == ("failed", "property path: a path is required")


async def test_delete_folder_empty_nonempty_recursive_missing(tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "f.txt").write_text("x")
    r = await run_activity(delete_folder, {"path": str(d)})
    assert r.status == "failed"
    assert (
        r.error == f"property path: folder {d} is not empty (set recursive to delete its contents)"
    )
    r = await run_activity(delete_folder, {"path": str(d), "recursive": True})
    assert r.items == [{"Path": str(d), "Deleted": "true"}]
    assert not d.exists()
    r = await run_activity(delete_folder, {"path": str(d)})
    assert (r.status, r.items) == ("success", [{"Path": str(d), "Deleted": "false"}])


async def test_delete_folder_does_not_follow_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    d = tmp_path / "d"
    d.mkdir()
    (d / "link").symlink_to(outside)
    r = await run_activity(delete_folder, {"path": str(d), "recursive": True})
    assert r.status == "success", r.error
    assert (outside / "keep.txt").read_text() == "keep"


async def test_delete_folder_refuses_a_file_and_the_root(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = await run_activity(delete_folder, {"path": str(tmp_path / "f")})
    assert (r.status, r.error) == ("failed", f"property path: {tmp_path / 'f'} is not a folder")
    r = await run_activity(delete_folder, {"path": "/", "recursive": True})
    assert (r.status, r.error) == ("failed", "property path: refusing to delete /")


async def test_delete_file(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x")
    r = await run_activity(delete_file, {"path": str(f)})
    assert r.items == [{"Path": str(f), "Deleted": "true"}]
    assert not f.exists()
    r = await run_activity(delete_file, {"path": str(f)})
    assert (r.status, r.items) == ("success", [{"Path": str(f), "Deleted": "false"}])
    r = await run_activity(delete_file, {"path": str(tmp_path)})
    assert (r.status, r.error) == (
        "failed",
        f"property path: {tmp_path} is a folder (use delete_folder)",
    )


async def test_copy_file_to_path_and_into_folder(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_text("hello")
    os.chmod(src, 0o640)
    dest = tmp_path / "copy.txt"
    r = await run_activity(copy_file, {"source": str(src), "destination": str(dest)})
    assert (r.status, r.items) == ("success", [{"Path": str(dest), "Size": "5"}])
    assert dest.read_text() == "hello"
    assert dest.stat().st_mode & 0o777 == 0o640
    folder = tmp_path / "into"
    folder.mkdir()
    r = await run_activity(copy_file, {"source": str(src), "destination": str(folder)})
    assert r.items == [{"Path": str(folder / "src.txt"), "Size": "5"}]
    assert src.exists()


async def test_copy_file_overwrite_and_create_folders(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_text("new")
    dest = tmp_path / "dest.txt"
    dest.write_text("old")
    r = await run_activity(copy_file, {"source": str(src), "destination": str(dest)})
    assert r.status == "failed"
    assert r.error == f"property destination: {dest} already exists (set overwrite to replace it)"
    assert dest.read_text() == "old"
    r = await run_activity(
        copy_file, {"source": str(src), "destination": str(dest), "overwrite": True}
    )
    assert r.status == "success" and dest.read_text() == "new"
    deep = tmp_path / "x" / "y" / "z.txt"
    r = await run_activity(copy_file, {"source": str(src), "destination": str(deep)})
    assert r.error == (
        f"property destination: folder {deep.parent} does not exist "
        "(set create_folders to create it)"
    )
    r = await run_activity(
        copy_file, {"source": str(src), "destination": str(deep), "create_folders": "true"}
    )
    assert r.status == "success" and deep.read_text() == "new"


async def test_copy_file_bad_sources(tmp_path: Path) -> None:
    r = await run_activity(
        copy_file, {"source": str(tmp_path / "none"), "destination": str(tmp_path / "x")}
    )
    assert (r.status, r.error) == ("failed", f"property source: {tmp_path / 'none'} does not exist")
    r = await run_activity(copy_file, {"source": str(tmp_path), "destination": "/tmp/x"})
    assert (r.status, r.error) == ("failed", f"property source: {tmp_path} is a folder")
    r = await run_activity(copy_file, {"source": str(tmp_path)})
    assert (r.status, r.error) == ("failed", "property destination is required")


async def test_move_file_and_folder(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("abc")
    dest = tmp_path / "b.txt"
    r = await run_activity(move_file, {"source": str(src), "destination": str(dest)})
    assert (r.status, r.items) == ("success", [{"Path": str(dest), "Size": "3"}])
    assert not src.exists() and dest.read_text() == "abc"
    folder = tmp_path / "folder"
    (folder / "inner").mkdir(parents=True)
    target = tmp_path / "target"
    target.mkdir()
    r = await run_activity(move_file, {"source": str(folder), "destination": str(target)})
    assert r.items == [{"Path": str(target / "folder"), "Size": "0"}]
    assert (target / "folder" / "inner").is_dir()
    r = await run_activity(move_file, {"source": str(src), "destination": str(dest)})
    assert (r.status, r.error) == ("failed", f"property source: {src} does not exist")
    assert not move_file.rerunnable


async def test_rename_file(tmp_path: Path) -> None:
    f = tmp_path / "old.log"
    f.write_text("x")
    r = await run_activity(rename_file, {"path": str(f), "new_name": "new.log"})
    assert (r.status, r.items) == ("success", [{"Path": str(tmp_path / "new.log"), "Size": "1"}])
    assert not f.exists()
    r = await run_activity(rename_file, {"path": str(tmp_path / "new.log"), "new_name": "../x"})
    assert (r.status, r.error) == ("failed", "property new_name: '../x' is not a file name")
    (tmp_path / "other").write_text("y")
    r = await run_activity(rename_file, {"path": str(tmp_path / "new.log"), "new_name": "other"})
    assert r.error == (
        f"property new_name: {tmp_path / 'other'} already exists (set overwrite to replace it)"
    )
    r = await run_activity(
        rename_file, {"path": str(tmp_path / "new.log"), "new_name": "other", "overwrite": True}
    )
    assert r.status == "success" and (tmp_path / "other").read_text() == "x"


async def test_get_file_status_glob(tmp_path: Path) -> None:
    (tmp_path / "b.log").write_text("12345")
    (tmp_path / "a.log").write_text("1")
    (tmp_path / ".hidden.log").write_text("h")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.log").write_text("12")
    os.utime(tmp_path / "a.log", (0, 1_700_000_000))
    r = await run_activity(get_file_status, {"path": str(tmp_path / "*.log")})
    assert r.status == "success", r.error
    assert [i["Name"] for i in r.items] == ["a.log", "b.log"]
    a = r.items[0]
    assert a == {
        "Path": str(tmp_path / "a.log"),
        "Name": "a.log",
        "Folder": str(tmp_path),
        "Extension": ".log",
        "Size": "1",
        "ModifiedTime": "2023-11-14T22:13:20Z",
        "IsFolder": "false",
    }
    r = await run_activity(get_file_status, {"path": str(tmp_path / "**" / "*.log")})
    assert [i["Name"] for i in r.items] == ["a.log", "b.log", "c.log"]
    r = await run_activity(
        get_file_status, {"path": str(tmp_path / "*.log"), "include_hidden": True}
    )
    assert [i["Name"] for i in r.items] == [".hidden.log", "a.log", "b.log"]
    r = await run_activity(get_file_status, {"path": str(tmp_path / "sub")})
    assert r.items[0]["IsFolder"] == "true" and r.items[0]["Size"] == "0"


async def test_get_file_status_nothing_matches(tmp_path: Path) -> None:
    r = await run_activity(get_file_status, {"path": str(tmp_path / "*.none")})
    assert (r.status, r.error) == ("failed", f"property path: nothing matches {tmp_path}/*.none")
    r = await run_activity(
        get_file_status, {"path": str(tmp_path / "*.none"), "fail_if_none": False}
    )
    assert (r.status, r.items) == ("success", [])


# -- the allowed root -----------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "root"
    base.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    monkeypatch.setenv(ROOT_ENV, str(base))
    return base


async def test_root_refuses_dotdot_escape(root: Path) -> None:
    escape = f"{root}/../outside/secret.txt"
    r = await run_activity(delete_file, {"path": escape})
    assert r.status == "failed"
    assert r.error == f"property path: {escape} is outside the allowed root {root}"
    assert (root.parent / "outside" / "secret.txt").exists()


async def test_root_refuses_symlink_escape(root: Path) -> None:
    (root / "link").symlink_to(root.parent / "outside")
    r = await run_activity(
        copy_file,
        {"source": str(root / "link" / "secret.txt"), "destination": str(root / "stolen.txt")},
    )
    assert r.status == "failed"
    assert r.error == (
        f"property source: {root / 'link' / 'secret.txt'} is outside the allowed root {root}"
    )
    r = await run_activity(
        copy_file,
        {"source": str(root / "x"), "destination": str(root / "link" / "planted.txt")},
    )
    assert r.error is not None and r.error.startswith("property destination:")
    assert not (root.parent / "outside" / "planted.txt").exists()


async def test_root_allows_inside_and_guards_delete_of_root(root: Path) -> None:
    r = await run_activity(create_folder, {"path": str(root / "ok")})
    assert r.status == "success"
    r = await run_activity(delete_folder, {"path": str(root), "recursive": True})
    assert (r.status, r.error) == ("failed", f"property path: refusing to delete {root}")
    assert root.is_dir()


async def test_root_checks_new_name_and_glob_matches(root: Path) -> None:
    (root / "a.txt").write_text("a")
    (root / "out.txt").symlink_to(root.parent / "outside" / "secret.txt")
    r = await run_activity(get_file_status, {"path": str(root / "*.txt")})
    assert r.status == "warning"
    assert r.error == "1 match(es) outside the allowed root left out"
    assert [i["Name"] for i in r.items] == ["a.txt"]
    r = await run_activity(get_file_status, {"path": f"{root}/../outside/*"})
    assert r.status == "failed" and "outside the allowed root" in (r.error or "")
