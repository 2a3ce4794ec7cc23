"""Export/import helpers without a gateway: compact documents, file names, fault mapping,
and reading a folder of documents."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orch.api import Fault
from orch.cli.transfer import compact, export_file, gateway_faults, read_documents
from orch.client import ApiError
from orch.db.catalog import document_hash
from orch.document import decode_document
from tests.unit.tester.helpers import EXAMPLES, example


@pytest.mark.parametrize("name", ["hello", "branching", "fanout", "parent", "child"])
def test_compact_documents_decode_to_the_same_runbook(name: str) -> None:
    doc = decode_document((EXAMPLES / f"{name}.json").read_bytes())
    small = compact(doc)
    again = decode_document(msgspec.json.encode(small))
    assert again == doc and document_hash(again) == document_hash(doc)


def test_compact_keeps_meaningful_empties_and_drops_defaults() -> None:
    doc = example("branching")
    doc["tests"] = [{"name": "t", "expect": {"status": "success"}}, {"name": "bare"}]
    small = compact(decode_document(doc))
    assert small["links"][0] == {"from": "start", "to": "measure"}  # include: null dropped
    assert small["links"][5]["include"] == []  # [] means "whatever the status": kept
    assert small["tests"] == [{"name": "t", "expect": {"status": "success"}}, {"name": "bare"}]
    assert "max_concurrent_jobs" not in small and "description" in small


@settings(max_examples=30, deadline=None)
@given(
    delay=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    description=st.text(max_size=20),
    mcj=st.integers(min_value=0, max_value=5),
)
def test_compact_round_trip_with_varied_fields(delay: float, description: str, mcj: int) -> None:
    doc = example("hello")
    doc["links"][0]["delay_seconds"] = delay
    doc["description"] = description
    doc["max_concurrent_jobs"] = mcj
    decoded = decode_document(doc)
    assert decode_document(msgspec.json.encode(compact(decoded))) == decoded


def test_export_file_mirrors_the_folder_tree_below_the_exported_folder(tmp_path: Path) -> None:
    doc = decode_document({**example("hello"), "folder": "/Ops/Services/Web", "name": "Restart"})
    assert export_file(tmp_path, "/Ops", doc) == tmp_path / "Services" / "Web" / "Restart.json"
    assert export_file(tmp_path, "/", doc) == tmp_path / "Ops/Services/Web/Restart.json"
    assert export_file(tmp_path, "/Ops/Services/Web", doc) == tmp_path / "Restart.json"
    odd = decode_document({**example("hello"), "folder": "/Ops/..", "name": ".."})
    assert export_file(tmp_path, "/Ops", odd) == tmp_path / "%2E%2E" / "%2E%2E.json"


def test_gateway_faults_are_attached_to_their_files(tmp_path: Path) -> None:
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    error = ApiError(422, "invalid-document", "1 of 2 documents are invalid", faults=[
        Fault(path="$.documents[1].activities[0].type", message="no type", code="unknown-type"),
        Fault(path="$.documents[0]", message="odd", code="x"),
        Fault(path="$.comment", message="bad", code="y"),
    ])  # fmt: skip
    assert [(f.file, f.path, f.code) for f in gateway_faults(error, files)] == [
        (str(files[1]), "$.activities[0].type", "unknown-type"),
        (str(files[0]), "$", "x"),
        ("(import)", "$.comment", "y"),
    ]


def test_read_documents_reports_what_is_not_a_document(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hello.json").write_text(json.dumps(example("hello")))
    (tmp_path / "copy.json").write_text(json.dumps(example("hello")))
    (tmp_path / "odd.json").write_text(json.dumps({**example("hello"), "extra": 1}))
    (tmp_path / "notes.txt").write_text("not read")
    good, faults = read_documents(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f, _ in good] == ["copy.json"]
    assert [(Path(f.file).name, f.path, f.code) for f in faults] == [
        ("odd.json", "$.extra", "unknown-key"),
        ("hello.json", "$.name", "duplicate-path"),
    ]
