"""Checking an ID token (OpenID Connect Core §3.1.3.7) with joserfc.

The signature is checked against the provider's published keys with an
asymmetric algorithm only (``none`` and the HMAC family, whose key would be the
client secret, are refused), then the claims: ``iss`` is the issuer, ``aud``
holds orch's client id (and ``azp`` is it when there are several audiences),
``exp`` is not past and ``iat`` not in the future (with :data:`LEEWAY` seconds
for clock skew), ``sub`` is there, and ``nonce`` is the sign-in attempt's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from orch.directory.oidc.errors import OidcError

__all__ = ["ALGORITHMS", "LEEWAY", "check_claims", "verify_signature"]

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
              "ES256", "ES384", "ES512", "EdDSA")
LEEWAY = 60.0
"""Seconds of clock difference tolerated between orch and the provider."""


def _refused(message: str, code: str = "oidc-id-token") -> OidcError:
    return OidcError(message, code=code, status=401)


def _decode(token: str, keys: KeySet) -> dict[str, Any]:
    return dict(jwt.decode(token, keys, algorithms=ALGORITHMS).claims)


async def verify_signature(
    token: str,
    keys: KeySet,
    refetch: Callable[[str | None], Awaitable[KeySet | None]],
) -> dict[str, Any]:
    """The token's claims once its signature verifies; ``refetch(kid)`` is asked for a
    newer key set when the token names a key the cached one lacks."""
    try:
        kid = jws.extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError, TypeError, UnicodeError):
        kid = None
    for attempt in range(2):
        try:
            return _decode(token, keys)
        except InvalidKeyIdError:
            if attempt == 1:
                break
            newer = await refetch(kid)
            if newer is None:
                break
            keys = newer
        except BadSignatureError:
            raise _refused("the ID token's signature does not verify with the provider's "
                           "keys") from None
        except JoseError as e:
            raise _refused(f"the ID token is not acceptable: {e.error}"
                           f"{': ' + e.description if e.description else ''}") from None
        except (ValueError, TypeError) as e:
            raise _refused(f"the ID token is malformed: {e}") from None
    raise _refused("the ID token is signed with a key the provider does not publish")


def check_claims(
    claims: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce_ok: Callable[[object], bool],
    now: float | None = None,
    leeway: float = LEEWAY,
) -> None:
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise _refused(f"the ID token was issued by {claims.get('iss')!r}, not {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise _refused("the ID token is not meant for orch (its aud does not hold "
                       "ORCH_OIDC_CLIENT_ID)")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise _refused("the ID token was issued to another client (azp)")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_time(exp):
        raise _refused("the ID token has no expiry (exp)")
    if now > exp + leeway:
        raise _refused(f"the ID token expired {int(now - exp)} s ago", code="oidc-expired")
    if not _is_time(iat):
        raise _refused("the ID token has no issue time (iat)")
    if iat > now + leeway:
        raise _refused("the ID token is issued in the future (iat): check the clocks")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise _refused("the ID token has no subject (sub)")
    if not nonce_ok(claims.get("nonce")):
        raise _refused("the ID token's nonce is not this sign-in's: it was issued for "
                       "another sign-in (replayed or injected); sign in again",
                       code="oidc-nonce")


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
