"""``orch oidc check`` against the real provider, as a subprocess with the gateway's variables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.integration.oidc.provider import Provider

ORCH = shutil.which("orch", path=str(Path(sys.executable).parent)) or "orch"


def _orch(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    return subprocess.run([ORCH, *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_check_reads_discovery_and_keys_and_names_the_redirect_url(provider: Provider) -> None:
    env = {"ORCH_OIDC_ISSUER": provider.issuer, "ORCH_OIDC_CLIENT_ID": "orch",
           "ORCH_OIDC_CLIENT_SECRET": "s", "ORCH_OIDC_ADMIN_GROUPS": "platform-admins",
           "ORCH_OIDC_SCOPES": "openid profile groups"}
    done = _orch("oidc", "check", "--url", "https://orch.example.test/", **env)
    assert done.returncode == 0, done.stderr
    assert f"provider:      {provider.issuer} (discovery and 1 signing key(s) ok)" in done.stdout
    assert ("redirect URL:  https://orch.example.test/api/v1/session/oidc/callback"
            in done.stdout)
    done = _orch("oidc", "check", "--json", **env,
                 ORCH_OIDC_REDIRECT_URL="http://127.0.0.1:8080/api/v1/session/oidc/callback")
    report = json.loads(done.stdout)
    assert report["token_endpoint"] == f"{provider.issuer}/token"
    assert report["redirect_url"] == "http://127.0.0.1:8080/api/v1/session/oidc/callback"
    assert report["scopes"] == ["openid", "profile", "groups"]
    assert report["admin_groups"] == ["platform-admins"]


def test_check_fails_in_one_line(provider: Provider) -> None:
    done = _orch("oidc", "check", ORCH_OIDC_ISSUER="http://127.0.0.1:9",
                 ORCH_OIDC_CLIENT_ID="orch")
    assert done.returncode == 1
    assert done.stderr.startswith("orch: error: the directory OpenID provider "
                                  "http://127.0.0.1:9 is unavailable")
    assert len(done.stderr.strip().splitlines()) == 1
    done = _orch("oidc", "check", ORCH_OIDC_ISSUER=provider.issuer + "/other",
                 ORCH_OIDC_CLIENT_ID="orch")
    assert done.returncode == 1 and "orch: error:" in done.stderr
    done = _orch("oidc", "check", ORCH_OIDC_ISSUER="http://idp.example.test",
                 ORCH_OIDC_CLIENT_ID="orch")
    assert done.returncode == 1 and "ORCH_OIDC_ISSUER" in done.stderr
    assert "https" in done.stderr
