"""Batch import (``POST /runbooks/import``) — all or nothing, every fault reported — and the
CLI verbs over a real gateway: ``orch runbook import|export|diff`` and ``orch test`` reading
runbooks from the gateway."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

import orch.cli.diff
import orch.cli.tester
import orch.cli.transfer
from orch.cli.main import cli
from orch.document import decode_document
from orch.sdk import default_registry
from orch.tester import ChildResolver, Tester, load_file, run_once
from orch.tester.events import ChildStarted, Event
from tests.integration.gateway.conftest import ADMIN_TOKEN, EXAMPLES, Api, document

IMPORT = "/api/v1/runbooks/import"


async def paths(api: Api) -> list[str]:
    return [r.path async for r in api.client.iter_runbooks()]


async def orch(api: Api, *args: str) -> Result:
    """Run a CLI verb against the test gateway (in a thread: the CLI runs its own loop)."""
    argv = [*args, "--url", api.url, "--token", ADMIN_TOKEN]
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, catch_exceptions=False)


def broken(doc: dict[str, Any]) -> dict[str, Any]:
    doc["activities"][1]["type"] = "run_programme"
    doc["links"].append({"from": "greet", "to": "nowhere"})
    return doc


# ---- the route ------------------------------------------------------------------------------


async def test_import_creates_then_leaves_unchanged_then_updates(api: Api) -> None:
    docs = [document("A", "/Imp"), document("B", "/Imp/Sub"), document("C", "/Other")]
    status, body = await api.request("POST", IMPORT,
                                      json_body={"documents": docs, "comment": "ci"})  # fmt: skip
    assert status == 200, body
    assert [(i["path"], i["version"], i["action"]) for i in body["items"]] == [
        ("/Imp/A", 1, "created"), ("/Imp/Sub/B", 1, "created"), ("/Other/C", 1, "created"),
    ]  # fmt: skip
    assert body["dry_run"] is False
    detail = await api.client.get_runbook(body["items"][0]["id"])
    assert detail.versions[0].comment == "ci" and detail.versions[0].created_by == "admin"

    docs[1]["description"] = "changed"
    again = await api.client.import_runbooks(docs)
    assert [(i.path, i.version, i.action) for i in again.items] == [
        ("/Imp/A", 1, "unchanged"), ("/Imp/Sub/B", 2, "updated"), ("/Other/C", 1, "unchanged"),
    ]  # fmt: skip
    assert again.items[1].id == body["items"][1]["id"]


async def test_one_invalid_document_reports_every_fault_and_changes_nothing(api: Api) -> None:
    await api.client.check_in(document("Kept", "/Imp"))
    docs = [document("A", "/Imp"), broken(document("B", "/Imp")), {"format": "orch.runbook/1"},
            document("Kept", "/Imp", description="would be v2")]  # fmt: skip
    status, body = await api.request("POST", IMPORT, json_body={"documents": docs})
    assert status == 422
    error = body["error"]
    assert error["code"] == "invalid-document"
    assert error["message"] == "2 of 4 documents are invalid; nothing was imported"
    assert [(f["path"], f["code"]) for f in error["faults"]] == [
        ("$.documents[1].activities[1].type", "unknown-type"),
        ("$.documents[1].links[2].to", "unknown-activity"),
        ("$.documents[2].name", "missing-key"),
    ]
    assert error["path"] == "$.documents[1].activities[1].type"
    assert await paths(api) == ["/Imp/Kept"]
    kept = await api.client.find_runbook("/Imp/Kept")
    assert kept is not None and kept.current_version == 1


async def test_two_documents_at_one_path_are_invalid(api: Api) -> None:
    docs = [document("A", "/Imp"), document("A", "/Imp", description="twin")]
    status, body = await api.request("POST", IMPORT, json_body={"documents": docs})
    assert status == 422
    assert [(f["path"], f["code"], f["message"]) for f in body["error"]["faults"]] == [
        ("$.documents[1].name", "duplicate-path", "/Imp/A is also the path of documents[0]")
    ]
    assert await paths(api) == []


async def test_a_conflict_rolls_back_the_whole_import(api: Api) -> None:
    taken = await api.client.check_in(document("Held", "/Imp"))
    await api.make_user("designer")
    async with api.pool.acquire() as conn:
        await conn.execute(
            "UPDATE runbooks SET checked_out_by = (SELECT id FROM users WHERE name = 'designer'),"
            " checked_out_at = now() WHERE id = $1",
            uuid.UUID(taken.id),
        )
    docs = [document("New", "/Imp"), document("Held", "/Imp", description="mine now")]
    status, body = await api.request("POST", IMPORT, json_body={"documents": docs})
    assert status == 409
    assert "checked out by designer" in body["error"]["message"]
    assert await paths(api) == ["/Imp/Held"]


async def test_dry_run_writes_nothing(api: Api) -> None:
    await api.client.check_in(document("Old", "/Imp"))
    docs = [document("Old", "/Imp", description="v2"), document("New", "/Imp")]
    result = await api.client.import_runbooks(docs, dry_run=True)
    assert result.dry_run is True
    assert [(i.path, i.action, i.version) for i in result.items] == [
        ("/Imp/Old", "updated", 2), ("/Imp/New", "created", 1),
    ]  # fmt: skip
    assert await paths(api) == ["/Imp/Old"]
    old = await api.client.find_runbook("/Imp/Old")
    assert old is not None and old.current_version == 1


async def test_malformed_bodies_and_rights(api: Api) -> None:
    status, body = await api.request("POST", IMPORT, body="{")
    assert status == 400
    status, body = await api.request("POST", IMPORT, json_body={"documents": {}})
    assert status == 422 and body["error"]["path"] == "$.documents"
    status, body = await api.request("POST", IMPORT, json_body={"docs": []})
    assert status == 422
    operator = await api.make_user("operator")
    status, body = await api.request(
        "POST", IMPORT, token=operator, json_body={"documents": [document()]}
    )
    assert status == 404  # no grant at all: the path is not even visible
    assert await paths(api) == []


# ---- the CLI --------------------------------------------------------------------------------


def tree(root: Path, docs: dict[str, dict[str, Any]]) -> Path:
    for rel, doc in docs.items():
        file = root / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(doc, indent=2))
    return root


async def test_cli_import_with_bad_documents_changes_nothing_and_reports_each(
    api: Api, tmp_path: Path
) -> None:
    root = tree(tmp_path / "repo", {
        "ops/a.json": document("A", "/Ops"),
        "ops/b.json": broken(document("B", "/Ops")),
        "ops/deep/c.json": document("C", "/Ops/Deep"),
        "ops/twin.json": document("A", "/Ops", description="twin"),
    })  # fmt: skip
    (root / "ops" / "notjson.json").write_text("{ nope")
    result = await orch(api, "runbook", "import", str(root))
    assert result.exit_code == 1, result.output
    ops = root / "ops"
    out = result.stdout.splitlines()
    assert out[0].startswith(f"{ops / 'notjson.json'}: $: not valid JSON: ")
    assert out[0].endswith(" [bad-json]")
    assert out[1:] == [
        f"{ops / 'twin.json'}: $.name: /Ops/A is also the path of {ops / 'a.json'} "
        "[duplicate-path]",
        f"{ops / 'b.json'}: $.activities[1].type: no installed activity type is called "
        "'run_programme' (did you mean 'run_program'?) [unknown-type]",
        f"{ops / 'b.json'}: $.links[2].to: no activity has id 'nowhere' [unknown-activity]",
    ]
    assert result.stderr.strip() == "3 invalid documents: nothing was imported"
    assert await paths(api) == []

    as_json = await orch(api, "runbook", "import", str(root), "--json")
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert body["imported"] is False and len(body["faults"]) == 4


async def test_cli_export_import_round_trip(api: Api, tmp_path: Path) -> None:
    source = tmp_path / "examples"
    shutil.copytree(EXAMPLES, source)
    first = await orch(api, "runbook", "import", str(source), "-m", "from git")
    assert first.exit_code == 0, first.output
    assert sorted(line.split(" (")[0] for line in first.stdout.splitlines()) == [
        f"created /Examples/{name} version 1"
        for name in ("Branching", "Child", "Fan-out", "Hello", "Parent", "Scripts as written")
    ]
    await api.client.check_in(document("Elsewhere", "/Other"))

    out = tmp_path / "exported"
    exported = await orch(api, "runbook", "export", "/Examples", str(out))
    assert exported.exit_code == 0, exported.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert files == [
        "Branching.json", "Child.json", "Fan-out.json", "Hello.json", "Parent.json",
        "Scripts as written.json",
    ]  # fmt: skip
    hello = json.loads((out / "Hello.json").read_text())
    assert decode_document(hello) == decode_document((EXAMPLES / "hello.json").read_bytes())
    assert hello["links"] == [{"from": "start", "to": "greet"}, {"from": "greet", "to": "done"}]
    assert "tests" not in hello and "max_concurrent_jobs" not in hello  # defaults left out

    whole = await orch(api, "runbook", "export", "/", str(tmp_path / "all"), "--json")
    listed = {e["path"]: e["file"] for e in json.loads(whole.stdout)}
    assert listed["/Other/Elsewhere"] == str(tmp_path / "all" / "Other" / "Elsewhere.json")
    assert listed["/Examples/Hello"] == str(tmp_path / "all" / "Examples" / "Hello.json")

    again = await orch(api, "runbook", "import", str(out))
    assert again.exit_code == 0, again.output
    assert all(line.startswith("unchanged ") for line in again.stdout.splitlines())

    hello["description"] = "edited in git"
    (out / "Hello.json").write_text(json.dumps(hello))
    dry = await orch(api, "runbook", "import", str(out), "--dry-run")
    assert "would update /Examples/Hello" in dry.stdout.splitlines()
    updated = await orch(api, "runbook", "import", str(out))
    assert f"updated /Examples/Hello version 2 ({out / 'Hello.json'})" in updated.stdout
    detail = await api.client.find_runbook("/Examples/Hello")
    assert detail is not None and detail.current_version == 2

    diff = await orch(api, "runbook", "diff", "/Examples/Hello@1", "/Examples/Hello")
    assert diff.exit_code == 0, diff.output
    assert diff.stdout.splitlines() == [
        "--- /Examples/Hello v1 (/Examples/Hello)",
        "+++ /Examples/Hello v2 (/Examples/Hello)",
        "runbook:",
        f"  ~ description: {json.dumps(json.loads((EXAMPLES / 'hello.json').read_text())['description'])}"  # noqa: E501
        ' → "edited in git"',
    ]


async def test_orch_test_reads_runbooks_and_children_from_the_gateway(
    api: Api, tmp_path: Path
) -> None:
    child = json.loads((EXAMPLES / "child.json").read_text())
    await api.client.check_in(child)
    parent_file = tmp_path / "parent.json"
    shutil.copy(EXAMPLES / "parent.json", parent_file)  # the child is not beside it

    seen: list[Event] = []
    registry = default_registry()
    tester = Tester(registry=registry, observer=seen.append,
                    resolver=ChildResolver(tmp_path, api.client))  # fmt: skip
    code = await run_once(tester, load_file(parent_file, registry), {"Number": 4})
    assert code == 0
    started = next(e for e in seen if isinstance(e, ChildStarted))
    assert started.source == "gateway (/Examples/Child v1)"

    by_path = await orch(api, "test", "/Examples/Child", "-p", "Number=8")
    assert by_path.exit_code == 0, by_path.output
    first_line = by_path.stdout.splitlines()[0]
    assert first_line == "Testing /Examples/Child (gateway (/Examples/Child v1))"
    assert "    Doubled: 16" in by_path.stdout.splitlines()

    with_url = await orch(api, "test", str(parent_file), "--json")
    assert with_url.exit_code == 0, with_url.output
    assert json.loads(with_url.stdout.splitlines()[-1])["returned_data"]["Answer"] == (
        "21 doubled is 42"
    )
