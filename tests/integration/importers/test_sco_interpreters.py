"""A PowerShell "Run .Net Script" imported from SCO runs with pwsh, where a runbook server
has it: servers report the interpreters on their PATH, a version needs those its
run_script activities name, and the claim matches them like activity types."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orch.db.packs import interpreters_here
from tests.integration.gateway.conftest import Api
from tests.integration.helpers import eventually, fast_settings, running_server, wait_job
from tests.integration.importers.test_sco_import import post
from tests.unit.importers.sco_xml import activity, export, link, policy, ref, start

SCRIPT = '$h = @{a=1}; $n = "' + ref(1, "{C0000000-0000-0000-0000-000000000001}") + '"; $h["a"]'
EXPORT = export(policy("PS", start(1, (1, "Who")),
                       activity(2, "Script", "Run .Net Script", ScriptType="PowerShell",
                                ScriptBody=SCRIPT),
                       activity(3, "Done", "Return Data"), link(1, 2), link(2, 3)))
FAKE_PWSH = """#!/bin/sh
# stands in for PowerShell: shows the script file it was given
while [ "$1" != "-File" ]; do shift; done
printf 'pwsh ran: %s' "$(cat "$2")"
"""


def _path_without_pwsh() -> str:
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if not (Path(p) / "pwsh").exists())  # fmt: skip


async def test_a_pwsh_job_waits_for_a_server_with_pwsh_then_runs_there(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _path_without_pwsh())
    assert "interpreter:pwsh" not in interpreters_here()
    assert "interpreter:bash" in interpreters_here()
    status, report = await post(api, EXPORT, folder="/PS")
    assert status == 200, report
    (rb,) = report["runbooks"]
    types = await api.pool.fetchval(
        "SELECT activity_types FROM runbook_versions WHERE runbook_id = $1", rb["id"])
    assert "interpreter:pwsh" in types and "core:run_script" in types
    async with running_server(api.pool, fast_settings(server_name="no-pwsh")):
        job = await api.client.start_job("/PS/PS", {"Who": "World"})

        async def waiting() -> str | None:
            row = await api.pool.fetchrow("SELECT status, waiting_reason FROM jobs WHERE id = $1",
                                          job.id)  # fmt: skip
            assert row["status"] == "queued"
            return row["waiting_reason"]

        reason = await eventually(waiting)
        assert reason == "no available runbook server has interpreter pwsh"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pwsh").write_text(FAKE_PWSH)
    (bin_dir / "pwsh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{_path_without_pwsh()}")
    async with running_server(api.pool, fast_settings(server_name="with-pwsh")):
        done = await wait_job(api.pool, job.id)
    assert done.status == "success"
    instance = await api.client.get_instance((await api.client.get_job(job.id)).instance_id)
    (script_run,) = [r for r in instance.activity_runs if r.activity == "script"]
    assert script_run.published[0]["Output"] == 'pwsh ran: $h = @{a=1}; $n = "World"; $h["a"]'
    assert (await api.client.get_job(job.id)).server == "with-pwsh"
