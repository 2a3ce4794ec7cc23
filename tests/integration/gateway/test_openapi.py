"""The OpenAPI document: generated from the route table, so every route is in it."""

from __future__ import annotations

import re

from orch.gateway.routes import ROUTES
from tests.integration.gateway.conftest import Api


async def test_every_route_is_described(api: Api) -> None:
    spec = await api.client.openapi()
    described = {
        (method.upper(), path) for path, ops in spec["paths"].items() for method in ops
    }
    assert described == {(op.method, op.path) for op, _ in ROUTES}
    schemas = spec["components"]["schemas"]
    for name in ("Job", "Instance", "ActivityRun", "RunbookDetail", "Runbook", "ErrorBody"):
        assert name in schemas
    job = schemas["Job"]
    for field in ("id", "runbook_id", "runbook_path", "runbook_version", "status", "parameters",
                  "returned_data", "created_at", "started_at", "ended_at", "server",
                  "instance_id", "instance_ids", "waiting_reason", "stop_requested_at"):
        assert field in job["required"], field


async def test_refs_resolve_and_security(api: Api) -> None:
    spec = await api.client.openapi()
    text = str(spec)
    for ref in set(re.findall(r"#/components/schemas/([\w.]+)", text)):
        assert ref in spec["components"]["schemas"], ref
    assert spec["paths"]["/health"]["get"]["security"] == []
    start = spec["paths"]["/api/v1/jobs"]["post"]
    assert "security" not in start  # the global bearer requirement applies
    assert {"201", "400", "401", "404", "422"} <= set(start["responses"])
    params = {p["name"] for p in spec["paths"]["/api/v1/jobs"]["get"]["parameters"]}
    assert params == {"runbook", "status", "server", "since", "until", "cursor", "limit"}
