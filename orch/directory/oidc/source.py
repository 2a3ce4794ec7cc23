"""OpenID Connect as an identity source: the authorization code flow with PKCE.

:meth:`OidcSource.authorization_url` is where ``GET /api/v1/session/oidc/start``
sends the browser; :meth:`OidcSource.complete` turns the provider's callback into
an :class:`~orch.directory.identity.ExternalIdentity`:

1. the provider's ``error`` (the user cancelled, the client is not allowed) is a 401;
2. ``state`` must be the attempt's (from its cookie), and ``iss``, when the provider
   sends it (RFC 9207), the issuer — else a 400 and the code is never redeemed;
3. the code is redeemed at the token endpoint with the PKCE verifier;
4. the ID token's signature and claims are checked (:mod:`.idtoken`), its nonce
   included;
5. the name and groups come from the ID token, or from the userinfo endpoint when
   the ID token lacks them (the ``sub`` must be the same);
6. groups become ``group:<name>``; a member of one of ``ORCH_OIDC_ADMIN_GROUPS`` is
   an admin.

An OpenID provider cannot be asked about a user outside a sign-in, so the groups
are those of the last sign-in (``refresh_seconds`` is None) and the source can
neither list groups nor say whether one exists.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec

from orch.config import Settings
from orch.directory.identity import DirectoryUnavailable, ExternalIdentity
from orch.directory.oidc.attempt import Attempt
from orch.directory.oidc.errors import OidcError
from orch.directory.oidc.idtoken import check_claims, verify_signature
from orch.directory.oidc.provider import ProviderClient

__all__ = ["CallbackParams", "OidcSource"]

MAX_NAME = 200
MAX_GROUPS = 1000


class CallbackParams(msgspec.Struct, kw_only=True, frozen=True):
    """The query of the provider's redirect back to orch (other parameters ignored)."""

    code: str | None = None
    state: str | None = None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None


def _clean(text: str) -> str:
    """Printable text only (a provider's words end up in a page and in logs)."""
    return "".join(c for c in text if unicodedata.category(c)[0] != "C")[:300]


class OidcSource:
    """The provider of ``ORCH_OIDC_ISSUER``, as orch's directory source ``oidc``."""

    name = "oidc"
    refresh_seconds: float | None = None

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        scopes: tuple[str, ...] = ("openid", "profile", "email"),
        groups_claim: str = "groups",
        name_claim: str = "preferred_username",
        admin_groups: tuple[str, ...] = (),
        label: str | None = None,
        timeout: float = 10.0,
        jwks_min_refresh: float = 30.0,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.scopes = scopes
        self.groups_claim = groups_claim
        self.name_claim = name_claim
        self.admin_groups = frozenset(admin_groups)
        self.label = label or urlsplit(issuer).hostname or issuer
        self.provider = ProviderClient(issuer, client_id=client_id,
                                       client_secret=client_secret, timeout=timeout,
                                       jwks_min_refresh=jwks_min_refresh)
        self.description = self.provider.description

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcSource:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OpenID Connect is not configured (ORCH_OIDC_ISSUER)")
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            scopes=settings.oidc_scopes,
            groups_claim=settings.oidc_groups_claim,
            name_claim=settings.oidc_name_claim,
            admin_groups=settings.oidc_admin_groups,
            label=settings.oidc_label,
            timeout=settings.oidc_timeout_seconds,
        )

    # -- the two legs of the flow --------------------------------------------------------
    async def authorization_url(self, attempt: Attempt, redirect_uri: str) -> str:
        meta = await self.provider.metadata()
        query = urlencode({
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.scopes),
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.code_challenge,
            "code_challenge_method": "S256",
        })
        sep = "&" if urlsplit(meta.authorization_endpoint).query else "?"
        return f"{meta.authorization_endpoint}{sep}{query}"

    async def complete(self, attempt: Attempt, params: CallbackParams,
                       redirect_uri: str) -> ExternalIdentity:
        if params.error is not None:
            detail = _clean(params.error_description or "")
            raise OidcError(f"the provider did not sign you in ({_clean(params.error)}"
                            f"{': ' + detail if detail else ''})", code="oidc-denied",
                            status=401)
        if not attempt.state_matches(params.state):
            raise OidcError("the sign-in's state does not match this browser's attempt "
                            "(a link started elsewhere, or an old tab): sign in again",
                            code="oidc-state")
        if params.iss is not None and params.iss != self.issuer:
            raise OidcError(f"the answer comes from {_clean(params.iss)!r}, not the "
                            f"configured provider", code="oidc-issuer")
        if not params.code:
            raise OidcError("the provider's answer has no authorization code",
                            code="oidc-code")
        answer = await self.provider.exchange_code(
            params.code, code_verifier=attempt.code_verifier, redirect_uri=redirect_uri)
        assert answer.id_token is not None  # exchange_code refuses an answer without one
        claims = await verify_signature(answer.id_token, await self.provider.keys(),
                                        self.provider.keys_with)
        check_claims(claims, issuer=self.issuer, client_id=self.client_id,
                     nonce_ok=attempt.nonce_matches)
        if (self.groups_claim not in claims or self.name_claim not in claims) \
                and answer.access_token:
            extra = await self.provider.userinfo(answer.access_token)
            if extra is not None:
                if extra.get("sub") != claims["sub"]:
                    raise OidcError("the provider's userinfo is about another subject",
                                    code="oidc-userinfo", status=401)
                claims = {**extra, **claims}
        return self.identity(claims)

    def identity(self, claims: dict[str, Any]) -> ExternalIdentity:
        """The orch user the checked claims describe."""
        name = next((claims[c] for c in (self.name_claim, "email")
                     if isinstance(claims.get(c), str) and claims[c].strip()), claims["sub"])
        name = name.strip()
        if len(name) > MAX_NAME or _clean(name) != name:
            raise OidcError(f"the provider's {self.name_claim} claim is not a usable user "
                            f"name", code="oidc-claims", status=401)
        raw = claims.get(self.groups_claim, [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
            raise OidcError(f"the provider's {self.groups_claim!r} claim is not a list of "
                            f"group names (ORCH_OIDC_GROUPS_CLAIM)", code="oidc-claims",
                            status=401)
        if len(raw) > MAX_GROUPS:
            raise OidcError(f"the provider's {self.groups_claim!r} claim lists more than "
                            f"{MAX_GROUPS} groups", code="oidc-claims", status=401)
        groups = tuple(sorted({g.strip() for g in raw if g.strip() and _clean(g) == g}))
        return ExternalIdentity(
            source=self.name,
            subject=claims["sub"],
            name=name,
            groups=groups,
            is_admin=bool(self.admin_groups.intersection(groups)),
        )

    # -- the rest of the IdentitySource protocol -----------------------------------------
    async def refresh(self, subject: str, name: str) -> ExternalIdentity | None:
        """Never asked (``refresh_seconds`` is None): a provider answers only at sign-in."""
        raise DirectoryUnavailable(self.description, "an OpenID provider cannot be asked "
                                   "about a user outside a sign-in")

    async def group_exists(self, name: str) -> bool:
        return False

    async def list_groups(self) -> list[str]:
        return []

    async def close(self) -> None:
        await self.provider.close()
