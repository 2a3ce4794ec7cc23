"""``orch runbook import-sco`` against a real gateway: the readable report, --json,
--dry-run, several files all or nothing, and exit 1 with nothing written on bad input."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner, Result

import orch.cli.sco
from orch.cli.main import cli
from tests.integration.gateway.conftest import ADMIN_TOKEN, Api
from tests.integration.importers.test_sco_import import FIXTURES, snapshot


async def orch(api: Api, *args: str) -> Result:
    argv = [*args, "--url", api.url, "--token", ADMIN_TOKEN]
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, catch_exceptions=False)


async def test_import_prints_a_readable_report(api: Api) -> None:
    result = await orch(api, "runbook", "import-sco", str(FIXTURES / "greet.ois_export"),
                        "--folder", "/From SCO")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "created /From SCO/Ops/Greet v1 (enabled)" in out
    assert "Make Greeting [Trigger Policy] -> make_greeting: invoke_runbook" in out
    assert ("variable SmtpPassword (encrypted, created, needs a value: orch variable set "
            "SmtpPassword VALUE --encrypted)") in out
    assert "counter Greetings = 5 (created)" in out
    assert "schedule Business Hours (needs a definition)" in out
    assert "imported 2 runbooks; set the encrypted variables SmtpPassword" in out
    again = await orch(api, "runbook", "import-sco", str(FIXTURES / "greet.ois_export"),
                       "--folder", "/From SCO", "--json")
    assert again.exit_code == 0, again.output
    (item,) = json.loads(again.output)
    assert item["file"].endswith("greet.ois_export")
    assert [r["action"] for r in item["report"]["runbooks"]] == ["unchanged", "unchanged"]


async def test_placeholders_are_shown_and_the_runbook_disabled(api: Api, tmp_path: Path) -> None:
    data = (FIXTURES / "greet.ois_export").read_text().replace(
        "<ObjectTypeName datatype=\"string\">Run Program</ObjectTypeName>",
        "<ObjectTypeName datatype=\"string\">Get Alert</ObjectTypeName>")
    file = tmp_path / "alert.ois_export"
    file.write_text(data)
    result = await orch(api, "runbook", "import-sco", str(file))
    assert result.exit_code == 0, result.output
    assert ("created /Ops/Children/Make Greeting v1 (DISABLED: review, then `orch runbook "
            "enable`)") in result.output
    assert "Say Hello [Get Alert] -> say_hello: not_imported  PLACEHOLDER" in result.output
    assert "warning: activity 'Say Hello': not imported (Get Alert)" in result.output
    assert "1 disabled until reviewed" in result.output
    detail = await api.client.find_runbook("/Ops/Children/Make Greeting")
    assert detail is not None
    row = await api.pool.fetchval("SELECT disabled_at IS NOT NULL FROM runbooks WHERE path = $1",
                                  "/Ops/Children/Make Greeting")  # fmt: skip
    assert row is True


async def test_dry_run_writes_nothing(api: Api) -> None:
    before = await snapshot(api)
    result = await orch(api, "runbook", "import-sco", str(FIXTURES / "greet.ois_export"),
                        "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would create /Ops/Greet v1 (enabled)" in result.output
    assert "would import 2 runbooks" in result.output
    assert await snapshot(api) == before


async def test_several_files_all_or_nothing(api: Api, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ois_export"
    bad.write_text("<ExportData><Policies><Folder><Policy></Policy></Folder></Policies>"
                   "</ExportData>")
    before = await snapshot(api)
    result = await orch(api, "runbook", "import-sco", str(FIXTURES / "greet.ois_export"),
                        str(bad))
    assert result.exit_code == 1
    assert f"{bad}: policy 1 of the export (UniqueID none) has no name" in result.output
    assert "nothing was imported" in result.output
    assert await snapshot(api) == before
    good = await orch(api, "runbook", "import-sco", str(FIXTURES / "greet.ois_export"),
                      str(FIXTURES / "catalog.ois_export"), "--folder", "/Both")
    assert good.exit_code == 0, good.output
    assert "checking" in good.output and "importing" in good.output
    assert "imported 8 runbooks" in good.output


async def test_not_xml_is_exit_1_with_the_reason(api: Api, tmp_path: Path) -> None:
    file = tmp_path / "x.ois_export"
    file.write_text("{\"json\": true}")
    result = await orch(api, "runbook", "import-sco", str(file))
    assert result.exit_code == 1
    assert "not XML" in result.output and "nothing was imported" in result.output


async def test_a_50_mb_file_is_refused_before_sending(api: Api, tmp_path: Path) -> None:
    file = tmp_path / "huge.ois_export"
    with file.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    before = await snapshot(api)
    result = await orch(api, "runbook", "import-sco", str(file))
    assert result.exit_code == 1
    assert f"{file}: the export is 52428800 bytes; at most 4194304 are accepted" in (
        result.output)
    assert await snapshot(api) == before
