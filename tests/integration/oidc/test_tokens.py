"""The ID token checks, the key set cache and the attempt's secrets, case by case.

Tokens are signed here with joserfc; the "provider" of the key-set tests is a small
real aiohttp server on 127.0.0.1 serving a discovery document and a JWKS that can
rotate, so the cache's refetch on an unknown key id is observable.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from orch.directory.identity import DirectoryUnavailable
from orch.directory.oidc import ATTEMPT_SECONDS, Attempt, BadAttempt, OidcError, safe_next
from orch.directory.oidc.idtoken import check_claims, verify_signature
from orch.directory.oidc.provider import ProviderClient
from orch.directory.oidc.source import OidcSource

ISSUER = "https://idp.example.test"
CLIENT = "orch-client"
NOW = 1_800_000_000.0


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "u-1", "iat": NOW - 5, "exp": NOW + 300,
              "nonce": "n-1"}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _check(claims: dict[str, Any]) -> None:
    check_claims(claims, issuer=ISSUER, client_id=CLIENT, nonce_ok=lambda n: n == "n-1",
                 now=NOW)


def test_good_claims_pass() -> None:
    _check(_claims())
    _check(_claims(aud=[CLIENT, "other"], azp=CLIENT))
    _check(_claims(exp=NOW - 30))  # within the clock leeway


@pytest.mark.parametrize(("changes", "code", "words"), [
    ({"iss": "https://evil.example"}, "oidc-id-token", "issued by"),
    ({"aud": "another-client"}, "oidc-id-token", "not meant for orch"),
    ({"aud": [CLIENT, "other"]}, "oidc-id-token", "azp"),
    ({"aud": [CLIENT, "other"], "azp": "other"}, "oidc-id-token", "azp"),
    ({"exp": NOW - 3600}, "oidc-expired", "expired"),
    ({"exp": None}, "oidc-id-token", "no expiry"),
    ({"exp": "tomorrow"}, "oidc-id-token", "no expiry"),
    ({"iat": NOW + 3600}, "oidc-id-token", "future"),
    ({"iat": None}, "oidc-id-token", "no issue time"),
    ({"sub": ""}, "oidc-id-token", "no subject"),
    ({"nonce": "n-2"}, "oidc-nonce", "nonce"),
    ({"nonce": None}, "oidc-nonce", "nonce"),
])
def test_each_bad_claim_is_refused(changes: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(OidcError) as caught:
        _check(_claims(**changes))
    assert caught.value.code == code and caught.value.status == 401
    assert words in caught.value.message


def _rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def _sign(key: Any, claims: dict[str, Any], alg: str = "RS256", kid: str | None = None) -> str:
    header = {"alg": alg, "kid": kid if kid is not None else key.kid}
    return jwt.encode(header, claims, key)


def _keyset(*keys: Any) -> Any:
    from joserfc.jwk import KeySet

    return KeySet.import_key_set({"keys": [k.as_dict(private=False) for k in keys]})


async def _no_refetch(kid: str | None) -> None:
    return None


async def test_signature_checks() -> None:
    key, other = _rsa("k1"), _rsa("k1")
    keys = _keyset(key)
    token = _sign(key, _claims())
    assert (await verify_signature(token, keys, _no_refetch))["sub"] == "u-1"

    forged = _sign(other, _claims())  # same kid, another private key
    with pytest.raises(OidcError, match="signature does not verify"):
        await verify_signature(forged, keys, _no_refetch)

    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "admin"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(OidcError, match="signature does not verify"):
        await verify_signature(f"{head}.{edited}.{sig}", keys, _no_refetch)

    none_header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').decode().rstrip("=")
    with pytest.raises(OidcError) as caught:
        await verify_signature(f"{none_header}.{body}.", keys, _no_refetch)
    assert caught.value.code == "oidc-id-token"

    # HS256 keyed with something public (the classic confusion): refused outright
    secret = OctKey.import_key(b"k" * 32, parameters={"kid": "k1"})
    with pytest.raises(OidcError):
        await verify_signature(_sign(secret, _claims(), alg="HS256"), keys, _no_refetch)

    with pytest.raises(OidcError, match=r"malformed|not acceptable"):
        await verify_signature("not-a-jwt", keys, _no_refetch)

    ec = ECKey.generate_key("P-256", parameters={"kid": "e1"})
    assert (await verify_signature(_sign(ec, _claims(), alg="ES256"), _keyset(ec),
                                   _no_refetch))["sub"] == "u-1"


@dataclass
class FakeIssuerState:
    keys: list[Any] = field(default_factory=list)
    jwks_hits: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


@pytest_asyncio.fixture(loop_scope="function")
async def issuer_server() -> AsyncIterator[tuple[str, FakeIssuerState]]:
    state = FakeIssuerState()

    async def discovery(request: web.Request) -> web.Response:
        base = f"http://127.0.0.1:{request.url.port}"
        meta = {"issuer": base, "authorization_endpoint": f"{base}/auth",
                "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks",
                "code_challenge_methods_supported": ["S256"]}
        meta.update(state.meta)
        return web.json_response(meta)

    async def jwks(_request: web.Request) -> web.Response:
        state.jwks_hits += 1
        return web.json_response({"keys": [k.as_dict(private=False) for k in state.keys]})

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/jwks", jwks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", state
    finally:
        await runner.cleanup()


async def test_key_set_is_cached_and_fetched_again_for_a_rotated_key(
        issuer_server: tuple[str, FakeIssuerState]) -> None:
    url, state = issuer_server
    old, new = _rsa("old"), _rsa("new")
    state.keys = [old]
    client = ProviderClient(url, client_id=CLIENT, client_secret="s", timeout=5,
                            jwks_min_refresh=0.0)
    try:
        claims = {"sub": "u-1"}
        for _ in range(3):  # cached: one fetch for many tokens
            await verify_signature(_sign(old, claims), await client.keys(), client.keys_with)
        assert state.jwks_hits == 1

        state.keys = [old, new]  # the provider rotates: a token with a new kid refetches once
        got = await verify_signature(_sign(new, claims), await client.keys(), client.keys_with)
        assert got["sub"] == "u-1"
        assert state.jwks_hits == 2
        await verify_signature(_sign(new, claims), await client.keys(), client.keys_with)
        assert state.jwks_hits == 2

        # a kid the provider does not publish: refused after one refetch
        stranger = _rsa("stranger")
        with pytest.raises(OidcError, match="key the provider does not publish"):
            await verify_signature(_sign(stranger, claims), await client.keys(),
                                   client.keys_with)
        assert state.jwks_hits == 3

        # refetches are spaced: made-up kids cannot make orch hammer the provider
        client.jwks_min_refresh = 3600.0
        for _ in range(3):
            with pytest.raises(OidcError):
                await verify_signature(_sign(stranger, claims), await client.keys(),
                                       client.keys_with)
        assert state.jwks_hits == 3
    finally:
        await client.close()


async def test_discovery_must_name_the_configured_issuer_and_offer_s256(
        issuer_server: tuple[str, FakeIssuerState]) -> None:
    url, state = issuer_server
    state.meta = {"issuer": "https://someone-else.example"}
    client = ProviderClient(url, client_id=CLIENT, client_secret=None, timeout=5)
    try:
        with pytest.raises(DirectoryUnavailable, match="names the issuer"):
            await client.metadata()
        state.meta = {"code_challenge_methods_supported": ["plain"]}
        with pytest.raises(DirectoryUnavailable, match="S256"):
            await client.metadata()
        state.meta = {}
        assert (await client.metadata()).issuer == url
    finally:
        await client.close()


def test_attempt_secrets_come_back_from_its_cookie_and_only_unchanged() -> None:
    attempt = Attempt.new("/jobs?status=running", now=NOW)
    again = Attempt.from_cookie(attempt.cookie(), now=NOW + 10)
    assert (again.state, again.nonce, again.code_verifier, again.next) == (
        attempt.state, attempt.nonce, attempt.code_verifier, "/jobs?status=running")
    assert len({attempt.state, attempt.nonce, attempt.code_verifier}) == 3
    assert 43 <= len(attempt.code_verifier) <= 128
    assert attempt.state != Attempt.new("/jobs?status=running", now=NOW).state

    version, secret, created, nxt = attempt.cookie().split(".")
    moved = Attempt.from_cookie(".".join((version, secret, str(int(created) + 1), nxt)),
                                now=NOW + 10)
    assert moved.state != attempt.state and moved.nonce != attempt.nonce
    assert not moved.state_matches(attempt.state)

    with pytest.raises(BadAttempt, match="expired"):
        Attempt.from_cookie(attempt.cookie(), now=NOW + ATTEMPT_SECONDS + 1)
    for bad in (None, "", "garbage", "1.x.y.z", f"2.{secret}.{created}.{nxt}",
                f"1.{secret[:-4]}.{created}.{nxt}"):
        with pytest.raises(BadAttempt):
            Attempt.from_cookie(bad, now=NOW)


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    import hashlib

    attempt = Attempt.new(now=time.time())
    digest = hashlib.sha256(attempt.code_verifier.encode()).digest()
    assert attempt.code_challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.mark.parametrize(("asked", "kept"), [
    ("/runbooks/x", "/runbooks/x"), ("/jobs?status=failed", "/jobs?status=failed"),
    (None, "/"), ("", "/"), ("runbooks", "/"), ("//evil.example", "/"),
    ("/\\evil.example", "/"), ("https://evil.example/", "/"), ("/a\nb", "/"),
])
def test_only_pages_of_this_console_are_kept(asked: str | None, kept: str) -> None:
    assert safe_next(asked) == kept


def _source(**changes: Any) -> OidcSource:
    return OidcSource(issuer=ISSUER, client_id=CLIENT, admin_groups=("admins-idp",), **changes)


def test_claims_become_an_identity() -> None:
    ident = _source().identity({"sub": "u-1", "preferred_username": "alice",
                                "groups": ["ops", "admins-idp", "ops", " "]})
    assert (ident.source, ident.subject, ident.name) == ("oidc", "u-1", "alice")
    assert ident.groups == ("admins-idp", "ops") and ident.is_admin
    # the configured claims; a single group as text; the email when the name is missing
    ident = _source(groups_claim="roles", name_claim="upn").identity(
        {"sub": "u-2", "email": "bob@example.test", "roles": "ops"})
    assert (ident.name, ident.groups, ident.is_admin) == ("bob@example.test", ("ops",), False)
    assert _source().identity({"sub": "u-3"}).name == "u-3"
    for bad in ({"sub": "u", "groups": {"ops": True}}, {"sub": "u", "groups": [1, 2]},
                {"sub": "u", "preferred_username": "a\u0000b"},
                {"sub": "u", "groups": [f"g{i}" for i in range(1001)]}):
        with pytest.raises(OidcError) as caught:
            _source().identity(bad)
        assert caught.value.code == "oidc-claims"
