"""``orch ldap test NAME`` against the real slapd, and ``orch up --help`` documenting it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from orch.cli.main import _register, cli
from tests.integration.directory.slapd import PASSWORDS, SERVICE_DN, SERVICE_PW, SUFFIX, Slapd

_register()


def _env(server: Slapd, **extra: str) -> dict[str, str]:
    return {"ORCH_LDAP_URL": server.url, "ORCH_LDAP_BIND_DN": SERVICE_DN,
            "ORCH_LDAP_BIND_PASSWORD": SERVICE_PW, "ORCH_LDAP_USER_BASE": f"ou=people,{SUFFIX}",
            "ORCH_LDAP_GROUP_BASE": f"ou=groups,{SUFFIX}",
            "ORCH_LDAP_ADMIN_GROUPS": "orch-admins", "ORCH_LDAP_TIMEOUT_SECONDS": "1", **extra}


def _orch(args: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env, input=stdin, catch_exceptions=False)


def test_prints_the_users_dn_and_groups(directory: Slapd) -> None:
    result = _orch(["ldap", "test", "bob"], _env(directory))
    assert result.exit_code == 0, result.output
    assert f"dn:        uid=bob,ou=people,{SUFFIX}" in result.output
    assert "groups:    devs, engineering" in result.output
    assert "directory: LDAP " + directory.url + " (LDAP)" in result.output
    result = _orch(["ldap", "test", "carol", "--json"], _env(directory))
    data = json.loads(result.output)
    assert data["admin"] is True and data["groups"] == ["orch-admins"]
    result = _orch(["ldap", "test", "dave", "--json"], _env(directory))
    assert json.loads(result.output)["disabled"] is True


def test_checks_a_password(directory: Slapd) -> None:
    result = _orch(["ldap", "test", "alice", "--password"], _env(directory),
                   stdin=PASSWORDS["alice"] + "\n")
    assert result.exit_code == 0 and "password:  ok" in result.output, result.output
    result = _orch(["ldap", "test", "alice", "--password"], _env(directory), stdin="nope\n")
    assert result.exit_code == 1 and "wrong user name or password" in result.output


@pytest.mark.parametrize(("args", "env", "message"), [
    (["nobody"], {}, "nobody: no such user"),
    (["alice"], {"ORCH_LDAP_BIND_PASSWORD": "wrong"}, "service account's bind was refused"),
    (["alice"], {"ORCH_LDAP_URL": "ldap://127.0.0.1:1"}, "ldap://127.0.0.1:1"),
    (["alice"], {"ORCH_LDAP_URL": ""}, "no directory configured: set ORCH_LDAP_URL"),
    (["alice"], {"ORCH_LDAP_URL": "http://x"}, "ORCH_LDAP_URL"),
])
def test_failures_are_one_line(directory: Slapd, args: list[str], env: dict[str, str],
                               message: str) -> None:
    result = _orch(["ldap", "test", *args], _env(directory, **env))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_up_help_documents_the_directory_settings() -> None:
    result = _orch(["up", "--help"], {})
    for key in ("ORCH_LDAP_URL", "ORCH_LDAP_BIND_DN", "ORCH_LDAP_BIND_PASSWORD",
                "ORCH_LDAP_USER_BASE", "ORCH_LDAP_USER_FILTER", "ORCH_LDAP_GROUP_BASE",
                "ORCH_LDAP_GROUP_FILTER", "ORCH_LDAP_ADMIN_GROUPS", "ORCH_LDAP_STARTTLS",
                "ORCH_LDAP_CA_FILE", "ORCH_LDAP_REFRESH_SECONDS"):
        assert key in result.output
