"""Runbook and folder paths: the one function, and the checker and invoke_runbook using it."""

from __future__ import annotations

import pytest

from orch.document.model import join_path, normalize_folder
from orch.document.paths import (
    BadPath,
    normalize_path,
    path_problem,
    reference_problem,
    segment_problem,
)
from orch.sdk import default_registry
from tests.unit.document.helpers import base, faults, the_fault


@pytest.mark.parametrize(("text", "canonical"), [
    ("/", "/"),
    ("", "/"),
    ("/Ops", "/Ops"),
    ("/Ops/Services/Daily", "/Ops/Services/Daily"),
    ("/Ops/", "/Ops"),  # one trailing slash: dropped
    ("Ops/Services", "/Ops/Services"),  # the leading slash: added
    ("/a.b/..c/...", "/a.b/..c/..."),  # dots inside names are names
    ("/ spaced /x", "/ spaced /x"),
])
def test_canonical_paths(text: str, canonical: str) -> None:
    assert normalize_path(text) == canonical
    assert normalize_folder(text) == canonical
    assert path_problem(text) is None


@pytest.mark.parametrize(("text", "segment", "words"), [
    ("/../../etc", 1, "'..'"),
    ("/a/./b", 2, "'.'"),
    ("/a/..", 2, "'..'"),
    ("/a/../", 2, "'..'"),
    (".", 1, "'.'"),
    ("/a//b", 2, "empty segment"),
    ("//", 1, "empty segment"),
    ("//a", 1, "empty segment"),
    ("/a//", 2, "empty segment"),  # one trailing slash is dropped, the second is a segment
    ("/a/b\x00c", 2, "control characters (U+0000)"),
    ("/a\nb", 1, "control characters (U+000A)"),
])
def test_refused_paths_name_the_segment(text: str, segment: int, words: str) -> None:
    with pytest.raises(BadPath) as info:
        normalize_path(text, field="$.folder")
    assert info.value.path == "$.folder"
    assert f"segment {segment}" in info.value.message
    assert words in info.value.message
    assert repr(text) in info.value.message
    assert path_problem(text) == info.value.message


def test_normalize_folder_is_the_same_function() -> None:
    with pytest.raises(BadPath):
        normalize_folder("/a/../b")
    assert join_path("/Ops/", "Restart") == "/Ops/Restart"


@pytest.mark.parametrize("name", [".", "..", "", "a/b", "a\x7fb"])
def test_bad_segments(name: str) -> None:
    assert segment_problem(name) is not None


def test_references_are_ids_or_paths() -> None:
    assert reference_problem("0b4f6c7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b") is None
    assert reference_problem(" /Examples/Hello ") is None
    assert "'..'" in (reference_problem("/Examples/../Hello") or "")


@pytest.mark.parametrize(("folder", "words"), [
    ("/../../etc", "segment 1: '..'"),
    ("/a/./b", "segment 2: '.'"),
    ("/a//b", "empty segment (segment 2"),
])
def test_a_document_folder_with_dot_or_empty_segments_is_a_fault(folder: str, words: str) -> None:
    doc = base()
    doc["folder"] = folder
    f = the_fault(doc, "bad-folder")
    assert f.path == "$.folder"
    assert words in f.message


@pytest.mark.parametrize("name", [".", ".."])
def test_a_document_named_dot_is_a_fault(name: str) -> None:
    doc = base()
    doc["name"] = name
    f = the_fault(doc, "bad-name")
    assert f.path == "$.name"
    assert "'.' and '..'" in f.message


def _invoking(ref: str) -> dict:
    doc = base()
    doc["activities"][1] = {"id": "greet", "type": "invoke_runbook",
                            "properties": {"runbook": ref, "wait": False}}
    doc["activities"][2]["properties"] = {"data": {"Greeting": "{greet.ChildJobId}"}}
    return doc


@pytest.mark.parametrize(("ref", "words"), [
    ("/Ops/../Secret/Runbook", "segment 2: '..'"),
    ("/Ops//Runbook", "empty segment"),
    ("/./Runbook", "segment 1: '.'"),
])
def test_invoke_runbook_with_a_literal_bad_path_is_a_fault(ref: str, words: str) -> None:
    found = faults(_invoking(ref), default_registry())
    assert [f.path for f in found] == ["$.activities[1].properties"], found
    assert found[0].code == "bad-property"
    assert words in found[0].message and "runbook" in found[0].message


@pytest.mark.parametrize("ref", ["/Ops/Runbook", "0b4f6c7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                                 "{start.Name}"])
def test_invoke_runbook_with_a_good_or_rendered_reference_passes(ref: str) -> None:
    assert faults(_invoking(ref), default_registry()) == []


def test_a_rendered_bad_path_fails_invoke_runbook_inputs() -> None:
    from orch.sdk import InputError, convert_inputs

    atype = default_registry().get("invoke_runbook")
    assert atype is not None
    with pytest.raises(InputError) as info:
        convert_inputs(atype, {"runbook": "/a/../b"})
    assert "segment 2: '..'" in str(info.value)
