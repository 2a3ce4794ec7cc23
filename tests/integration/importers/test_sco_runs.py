"""An imported SCO export runs on a real runbook server with the outcome it had in SCO:
a parameter passed to a child runbook by Trigger Policy, its returned data read past a
link whose And-ed triggers compare text without regard to case, a global variable, and
literal braces in the returned text."""

from __future__ import annotations

from pathlib import Path

from tests.integration.gateway.conftest import Api
from tests.integration.helpers import running_server, wait_job
from tests.integration.importers.test_sco_import import export, post

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sco"


async def test_an_imported_runbook_runs_as_it_did_in_sco(api: Api) -> None:
    status, report = await post(api, export())
    assert status == 200, report
    async with running_server(api.pool):
        job = await api.client.start_job("/Imported/Ops/Greet", {"Name": "World"})
        done = await wait_job(api.pool, job.id)
        assert done.status == "success"
        answer = await api.client.get_job(job.id)
        # "startswith HELLO" held (SCO compares text without regard to case), so the
        # greeting branch ran and not the refusal
        assert answer.returned_data == {"Message": 'Hello, World from orch-test {"ok": [1]}'}
        instance = await api.client.get_instance(answer.instance_id)
        ran = [r.activity for r in instance.activity_runs]
        assert ran == ["initialize_data", "make_greeting", "return_greeting"]

        # the child greets otherwise: the And-ed link is not followed, the other one is
        changed = export().replace(b"Hello, %s", b"Hi there, %s")
        status, report = await post(api, changed)
        assert status == 200, report
        job = await api.client.start_job("/Imported/Ops/Greet", {"Name": "World"})
        done = await wait_job(api.pool, job.id)
        assert done.status == "success"
        answer = await api.client.get_job(job.id)
        assert answer.returned_data == {"Message": "no greeting"}
