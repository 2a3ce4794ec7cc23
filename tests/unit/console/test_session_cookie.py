"""The session cookie's flags and the CSRF token's derivation (no server needed)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from orch.gateway.session import COOKIE, _set_cookie, csrf_token_of


def _cookie(scheme: str) -> object:
    request = make_mocked_request("POST", "/api/v1/session").clone(scheme=scheme)
    response = web.Response()
    _set_cookie(response, request, "secret", 60)
    return response.cookies[COOKIE]


def test_secure_only_over_https() -> None:
    over_https = _cookie("https")
    assert over_https["secure"] is True
    assert over_https["httponly"] is True
    assert over_https["samesite"] == "Strict"
    assert over_https["path"] == "/"
    assert over_https["max-age"] == "60"
    assert not _cookie("http")["secure"]


def test_csrf_token_is_derived_from_the_secret() -> None:
    assert csrf_token_of("a") == csrf_token_of("a")
    assert csrf_token_of("a") != csrf_token_of("b")
    assert len(csrf_token_of("secret")) == 43  # 32 bytes, URL-safe base64 without padding
