"""``orch runbook schema``: the orch.runbook/1 JSON Schema from the installed packs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
from click.testing import CliRunner

from orch.cli.main import _register, cli
from orch.document.jsonschema import TypeSchema, runbook_schema

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _schema(*args: str) -> dict:
    _register()
    result = CliRunner().invoke(cli, ["runbook", "schema", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_prints_a_schema_every_example_fits() -> None:
    schema = _schema("--id", "https://orch.example/api/v1/schemas/runbook.json")
    assert schema["$id"] == "https://orch.example/api/v1/schemas/runbook.json"
    check = jsonschema_rs.Draft202012Validator(schema)
    for file in sorted(EXAMPLES.glob("*.json")):
        assert list(check.iter_errors(json.loads(file.read_text()))) == [], file.name
    types = schema["$defs"]["Activity"]["properties"]["type"]["examples"]
    assert {"run_program", "core:run_program", "junction"} <= set(types)


def test_cli_writes_a_file_and_names_a_bad_one(tmp_path: Path) -> None:
    _register()
    target = tmp_path / "runbook.schema.json"
    result = CliRunner().invoke(cli, ["runbook", "schema", "-o", str(target)])
    assert result.exit_code == 0 and json.loads(target.read_text())["type"] == "object"
    result = CliRunner().invoke(cli, ["runbook", "schema", "-o", str(tmp_path / "no" / "x")])
    assert result.exit_code == 1 and "cannot write" in result.output


def test_type_rules_are_as_lenient_as_check_in() -> None:
    nested = {"type": "object", "properties": {"items": {"type": "array",
              "items": {"$ref": "#/$defs/Item"}}}, "additionalProperties": False,
              "$defs": {"Item": {"type": "object", "properties": {"n": {"type": "integer"}},
                                 "required": ["n"], "additionalProperties": False}}}  # fmt: skip
    schema = runbook_schema([TypeSchema(qualified_name="p:t", name="t", input_schema=nested)])
    check = jsonschema_rs.Draft202012Validator(schema)

    def doc(props: dict) -> dict:
        return {"format": "orch.runbook/1", "name": "x",
                "activities": [{"id": "a", "type": "t", "properties": props}]}

    assert check.is_valid(doc({"items": [{"n": 1}, {"n": "{a.Status}"}]}))
    assert not check.is_valid(doc({"items": [{"m": 1}]}))  # the nested def is applied
    assert not check.is_valid(doc({"other": 1}))


def test_a_document_may_name_its_schema() -> None:
    from orch.document import load
    from orch.document.model import encode

    doc = json.loads((EXAMPLES / "hello.json").read_text())
    doc = {"$schema": "http://127.0.0.1:8080/api/v1/schemas/runbook.json", **doc}
    check = jsonschema_rs.Draft202012Validator(_schema())
    assert check.is_valid(doc)
    compiled = load(json.dumps(doc))
    assert b"$schema" not in encode(compiled.runbook)  # ignored, not stored
    assert load(doc).path == "/Examples/Hello"
    doc["bogus"] = 1
    import pytest

    from orch.document import DocumentInvalid

    with pytest.raises(DocumentInvalid) as e:
        load(json.dumps(doc))
    assert e.value.faults[0].path == "$.bogus"
