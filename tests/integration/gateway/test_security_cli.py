"""``orch user|group|grant|token|variable`` against a real gateway (CliRunner in a thread)."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner, Result

from orch.cli.main import _register, cli
from tests.integration.gateway.conftest import ADMIN_TOKEN, Api, document


async def _orch(api: Api, *args: str, token: str = ADMIN_TOKEN) -> Result:
    _register()
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, cli, [*args[:2], "--url", api.url, "--token", token, *args[2:]]
        if args[0] in {"user", "group", "token", "variable"} else
        [args[0], "--url", api.url, "--token", token, *args[1:]])


async def test_cli_users_groups_grants_tokens(api: Api) -> None:
    rb = await api.client.check_in(document(name="R", folder="/Ops"))
    for args in (("user", "add", "bob"), ("group", "add", "ops"),
                 ("group", "member-add", "ops", "bob"),
                 ("grant", "group:ops", "/Ops", "view", "start")):
        result = await _orch(api, *args)
        assert result.exit_code == 0, (args, result.output)
    result = await _orch(api, "token", "create", "ci", "--user", "bob", "--expires-in", "30d",
                         "--json")
    assert result.exit_code == 0, result.output
    secret = json.loads(result.output)["token"]
    status, _ = await api.request("GET", f"/api/v1/runbooks/{rb.id}", token=secret)
    assert status == 200
    result = await _orch(api, "token", "list", token=secret)
    assert result.exit_code == 0 and "ci" in result.output
    result = await _orch(api, "grant", "revoke", "group:ops", "/Ops")
    assert result.exit_code == 0, result.output
    status, _ = await api.request("GET", f"/api/v1/runbooks/{rb.id}", token=secret)
    assert status == 404
    result = await _orch(api, "grant", "user:bob", "/Ops", "fly")
    assert result.exit_code == 1 and "unknown right" in result.output
    result = await _orch(api, "user", "disable", "bob")
    assert result.exit_code == 0, result.output
    status, _ = await api.request("GET", "/api/v1/me", token=secret)
    assert status == 401
