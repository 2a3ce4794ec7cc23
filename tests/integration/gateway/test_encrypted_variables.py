"""An encrypted variable used by a run: its value appears nowhere but in the activity.

After a run whose program echoes the secret (stdout, published Output, returned
data, an error message), the clear value is searched for in the captured logs,
the events table, activity_runs, the instance log, jobs, the variables table
and every API answer about the run: it must be in none of them.
"""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from structlog.testing import capture_logs

from orch.masking import MASK, SECRETS
from tests.integration.gateway.conftest import Api
from tests.integration.helpers import runbook_doc, running_server, start, wait_job

SECRET = "s3cr3t-Value-7781"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCH_SECRET_KEY", Fernet.generate_key().decode())
    SECRETS.clear()


async def test_encrypted_variable_is_masked_everywhere(api: Api) -> None:
    status, body = await api.request("PUT", "/api/v1/variables/Token",
                                     json_body={"value": SECRET, "encrypted": True})
    assert status == 201 and body["value"] == MASK and body["encrypted"] is True
    async with api.pool.acquire() as conn:
        stored = await conn.fetchval("SELECT value FROM variables WHERE name = 'Token'")
    assert SECRET not in stored
    doc = runbook_doc("UsesSecret", [
        start(),
        {"id": "echo", "type": "run_program",
         "properties": {"program": "sh", "args": ["-c", "echo token={variable:Token}; "
                                                   "echo err={variable:Token} >&2"]}},
        {"id": "done", "type": "return_data", "properties": {"data": {"Out": "{echo.Output}"}}},
        {"id": "bad", "type": "run_program",
         "properties": {"program": "/no/such/{variable:Token}", "args": []}},
    ], links=[("start", "echo"), ("echo", "done"), ("done", "bad")], returns=["Out"])
    created = await api.client.check_in(doc)
    with capture_logs() as logs:
        async with running_server(api.pool):
            job = await api.client.start_job(created.path, {})
            await wait_job(api.pool, job.id)
    answers = []
    for path in (f"/api/v1/jobs/{job.id}", f"/api/v1/jobs?runbook={created.id}",
                 "/api/v1/events?limit=1000", "/api/v1/variables", "/api/v1/variables/Token"):
        status, body = await api.request("GET", path)
        assert status == 200
        answers.append(body)
    job_body = answers[0]
    assert job_body["returned_data"] == {"Out": f"token={MASK}"}  # the run did use it
    status, instance = await api.request("GET", f"/api/v1/instances/{job_body['instance_id']}")
    answers.append(instance)
    status, log_page = await api.request(
        "GET", f"/api/v1/instances/{job_body['instance_id']}/log", params={"limit": "1000"})
    answers.append(log_page)
    assert any(MASK in line["text"] for line in log_page["items"])
    assert SECRET not in json.dumps(answers)
    assert SECRET not in json.dumps(logs, default=str)
    async with api.pool.acquire() as conn:
        for table in ("events", "activity_runs", "instance_log", "jobs", "instances",
                      "variables", "audit"):
            rows = await conn.fetch(f"SELECT t::text AS row FROM {table} t")
            assert not any(SECRET in r["row"] for r in rows), table
