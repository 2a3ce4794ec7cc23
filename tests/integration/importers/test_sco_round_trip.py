"""Round trip: an SCO import, exported as orch JSON (``orch runbook export``) and imported
back (``orch runbook import``), changes nothing — and a second SCO import still finds the
same runbooks."""

from __future__ import annotations

import json
from pathlib import Path

import orch.cli.transfer as _transfer  # noqa: F401 - registers `runbook export|import`
from tests.integration.gateway.conftest import Api
from tests.integration.importers.test_sco_cli import orch
from tests.integration.importers.test_sco_import import FIXTURES, snapshot


async def test_import_export_import_is_stable(api: Api, tmp_path: Path) -> None:
    first = await orch(api, "runbook", "import-sco", str(FIXTURES / "greet.ois_export"),
                       str(FIXTURES / "catalog.ois_export"), "--folder", "/RT")
    assert first.exit_code == 0, first.output
    before = await snapshot(api)
    out = tmp_path / "exported"
    exported = await orch(api, "runbook", "export", "/RT", str(out))
    assert exported.exit_code == 0, exported.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert "Ops/Greet.json" in files and "Catalog/Every Activity.json" in files
    greet = json.loads((out / "Ops" / "Greet.json").read_text())
    assert greet["metadata"]["sco.unique_id"] == "{A0000000-0000-0000-0000-000000000001}"
    back = await orch(api, "runbook", "import", str(out), "--json")
    assert back.exit_code == 0, back.output
    actions = {i["action"] for i in json.loads(back.output)["items"]}
    assert actions == {"unchanged"}
    assert await snapshot(api) == before
    again = await orch(api, "runbook", "import-sco", str(FIXTURES / "greet.ois_export"),
                       "--folder", "/RT", "--json")
    assert again.exit_code == 0, again.output
    (item,) = json.loads(again.output)
    assert {r["action"] for r in item["report"]["runbooks"]} == {"unchanged"}
    assert await snapshot(api) == before
