"""Talking to the OpenID provider: discovery, its signing keys, the token and userinfo endpoints.

Every call has a deadline (``ORCH_OIDC_TIMEOUT_SECONDS``): a provider that is down,
refuses connections or never answers makes the gateway answer 503
(:class:`DirectoryUnavailable` naming the issuer), never hang. Answers are read up
to :data:`MAX_BODY` bytes.

The discovery document (``<issuer>/.well-known/openid-configuration``) is cached for
:data:`METADATA_SECONDS`; its ``issuer`` must be exactly the configured one (OpenID
Connect Discovery §4.3). The key set (``jwks_uri``) is cached too and fetched again
when an ID token names a key id it does not hold (the provider rotated its keys) —
at most once per ``jwks_min_refresh`` seconds, so tokens with made-up key ids cannot
make the gateway hammer the provider.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from orch.directory.identity import DirectoryUnavailable
from orch.directory.oidc.errors import OidcError
from orch.logging import get_logger

__all__ = ["MAX_BODY", "METADATA_SECONDS", "Metadata", "ProviderClient", "TokenAnswer"]

log = get_logger("orch.directory.oidc")

MAX_BODY = 1024 * 1024
METADATA_SECONDS = 3600.0
JWKS_SECONDS = 3600.0


class Metadata(msgspec.Struct, kw_only=True, frozen=True):
    """The parts of the discovery document orch uses (others are ignored)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    code_challenge_methods_supported: list[str] | None = None
    token_endpoint_auth_methods_supported: list[str] | None = None


class TokenAnswer(msgspec.Struct, kw_only=True, frozen=True):
    """The token endpoint's answer to an authorization code."""

    id_token: str | None = None
    access_token: str | None = None
    token_type: str | None = None


class _ErrorAnswer(msgspec.Struct, kw_only=True):
    error: str = "unknown"
    error_description: str | None = None


def _form_quote(text: str) -> str:
    # RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding
    return quote(text, safe="")


class ProviderClient:
    """One issuer's endpoints, keys and HTTP client (opened on first use, in the loop)."""

    def __init__(
        self,
        issuer: str,
        *,
        client_id: str,
        client_secret: str | None,
        timeout: float,
        jwks_min_refresh: float = 30.0,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.jwks_min_refresh = jwks_min_refresh
        self.description = f"OpenID provider {issuer}"
        self._http: aiohttp.ClientSession | None = None
        self._metadata: tuple[float, Metadata] | None = None
        self._keys: tuple[float, KeySet] | None = None
        self._meta_lock = asyncio.Lock()
        self._keys_lock = asyncio.Lock()
        self.jwks_fetches = 0
        """How often the key set was fetched (tests check the cache with it)."""

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Accept": "application/json"})
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _down(self, reason: str) -> DirectoryUnavailable:
        return DirectoryUnavailable(self.description, reason)

    async def _call(self, method: str, url: str, what: str,
                    **kwargs: Any) -> tuple[int, str, bytes]:
        """(status, content type, body) of one request; DirectoryUnavailable on any
        transport failure, time-out or over-long answer."""
        try:
            async with self._session().request(method, url, allow_redirects=False,
                                               **kwargs) as resp:
                body = await resp.content.read(MAX_BODY + 1)
                if len(body) > MAX_BODY:
                    raise self._down(f"its {what} answer is larger than {MAX_BODY} bytes")
                return resp.status, resp.content_type, body
        except TimeoutError:
            raise self._down(f"no answer to the {what} request within "
                             f"{self._timeout.total:g} s") from None
        except aiohttp.ClientError as e:
            raise self._down(f"the {what} request failed: {e}") from None

    # -- discovery -----------------------------------------------------------------------
    async def metadata(self) -> Metadata:
        cached = self._metadata
        if cached is not None and time.monotonic() - cached[0] < METADATA_SECONDS:
            return cached[1]
        async with self._meta_lock:
            cached = self._metadata
            if cached is not None and time.monotonic() - cached[0] < METADATA_SECONDS:
                return cached[1]
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            status, _, body = await self._call("GET", url, "discovery")
            if status != 200:
                raise self._down(f"{url} answered HTTP {status}")
            try:
                meta = msgspec.json.decode(body, type=Metadata)
            except msgspec.DecodeError as e:
                raise self._down(f"{url} is not a discovery document: {e}") from None
            if meta.issuer != self.issuer:
                raise self._down(f"its discovery document names the issuer {meta.issuer!r}, "
                                 f"not {self.issuer!r} (check ORCH_OIDC_ISSUER)")
            methods = meta.code_challenge_methods_supported
            if methods is not None and "S256" not in methods:
                raise self._down("it does not support PKCE with S256, which orch requires")
            self._metadata = (time.monotonic(), meta)
            return meta

    # -- keys ----------------------------------------------------------------------------
    async def _fetch_keys(self) -> KeySet:
        meta = await self.metadata()
        status, _, body = await self._call("GET", meta.jwks_uri, "signing keys")
        if status != 200:
            raise self._down(f"{meta.jwks_uri} answered HTTP {status}")
        try:
            keys = KeySet.import_key_set(msgspec.json.decode(body))
        except (msgspec.DecodeError, JoseError, ValueError, TypeError, KeyError) as e:
            raise self._down(f"{meta.jwks_uri} is not a JSON Web Key Set: {e}") from None
        self.jwks_fetches += 1
        self._keys = (time.monotonic(), keys)
        log.info("oidc keys fetched", issuer=self.issuer, count=len(keys.keys))
        return keys

    async def keys(self) -> KeySet:
        """The cached key set (fetched when missing or older than an hour)."""
        cached = self._keys
        if cached is not None and time.monotonic() - cached[0] < JWKS_SECONDS:
            return cached[1]
        async with self._keys_lock:
            cached = self._keys
            if cached is not None and time.monotonic() - cached[0] < JWKS_SECONDS:
                return cached[1]
            return await self._fetch_keys()

    async def keys_with(self, kid: str | None) -> KeySet | None:
        """The key set fetched again because it lacks ``kid``; None when it was fetched
        less than ``jwks_min_refresh`` seconds ago (an unknown kid then is not new)."""
        async with self._keys_lock:
            cached = self._keys
            if cached is not None:
                if kid is not None and any(k.kid == kid for k in cached[1].keys):
                    return cached[1]  # another request fetched it meanwhile
                if time.monotonic() - cached[0] < self.jwks_min_refresh:
                    return None
            return await self._fetch_keys()

    # -- the code and the user -----------------------------------------------------------
    async def exchange_code(self, code: str, *, code_verifier: str,
                            redirect_uri: str) -> TokenAnswer:
        """Redeem the authorization code (client_secret_basic, or _post when that is all
        the provider takes; a public client sends only its id)."""
        meta = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": code_verifier}
        headers = {}
        if self._client_secret is None:
            form["client_id"] = self.client_id
        else:
            methods = meta.token_endpoint_auth_methods_supported
            if methods is not None and "client_secret_basic" not in methods \
                    and "client_secret_post" in methods:
                form["client_id"] = self.client_id
                form["client_secret"] = self._client_secret
            else:
                pair = f"{_form_quote(self.client_id)}:{_form_quote(self._client_secret)}"
                headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        status, _, body = await self._call("POST", meta.token_endpoint, "token",
                                           data=form, headers=headers)
        if status >= 500:
            raise self._down(f"its token endpoint answered HTTP {status}")
        if status != 200:
            try:
                err = msgspec.json.decode(body, type=_ErrorAnswer)
            except msgspec.DecodeError:
                err = _ErrorAnswer(error=f"HTTP {status}")
            detail = f"{err.error}: {err.error_description}" if err.error_description \
                else err.error
            if err.error == "invalid_client":
                raise OidcError(f"the provider does not accept orch's client credentials "
                                f"({detail}): check ORCH_OIDC_CLIENT_ID and "
                                f"ORCH_OIDC_CLIENT_SECRET", code="oidc-client", status=401)
            raise OidcError(f"the provider refused the authorization code ({detail}): it was "
                            f"used already, has expired or belongs to another sign-in; "
                            f"sign in again", code="oidc-code", status=400)
        try:
            answer = msgspec.json.decode(body, type=TokenAnswer)
        except msgspec.DecodeError as e:
            raise self._down(f"its token endpoint answered with something that is not a "
                             f"token response: {e}") from None
        if not answer.id_token:
            raise OidcError("the provider's token answer has no ID token (is the openid "
                            "scope allowed for orch's client?)", code="oidc-id-token",
                            status=401)
        return answer

    async def userinfo(self, access_token: str) -> dict[str, Any] | None:
        """The userinfo endpoint's claims (None when the provider has none)."""
        meta = await self.metadata()
        if meta.userinfo_endpoint is None:
            return None
        status, content_type, body = await self._call(
            "GET", meta.userinfo_endpoint, "userinfo",
            headers={"Authorization": f"Bearer {access_token}"})
        if status >= 500:
            raise self._down(f"its userinfo endpoint answered HTTP {status}")
        if status != 200:
            raise OidcError(f"the provider's userinfo endpoint refused the access token "
                            f"(HTTP {status})", code="oidc-userinfo", status=401)
        if content_type != "application/json":
            raise OidcError(f"the provider's userinfo answer is {content_type}, not JSON "
                            f"(signed or encrypted userinfo is not supported)",
                            code="oidc-userinfo", status=401)
        try:
            claims = msgspec.json.decode(body)
        except msgspec.DecodeError as e:
            raise self._down(f"its userinfo answer is not JSON: {e}") from None
        if not isinstance(claims, dict):
            raise OidcError("the provider's userinfo answer is not a JSON object",
                            code="oidc-userinfo", status=401)
        return claims
