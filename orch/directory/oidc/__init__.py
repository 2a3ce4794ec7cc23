"""Sign-in with an OpenID provider (authorization code flow, PKCE S256, state and nonce).

- :mod:`.attempt` — one sign-in attempt's secrets, derived from a short-lived cookie;
- :mod:`.provider` — discovery, the key set (cached, fetched again for an unknown key
  id), the token and userinfo endpoints, each call with a deadline;
- :mod:`.idtoken` — the ID token's signature (joserfc) and claims;
- :mod:`.source` — :class:`OidcSource`, the flow as an identity source of the core.

The gateway's routes are in ``orch/gateway/oidc.py``.
"""

from __future__ import annotations

from orch.directory.oidc.attempt import ATTEMPT_SECONDS, Attempt, BadAttempt, safe_next
from orch.directory.oidc.errors import OidcError
from orch.directory.oidc.source import CallbackParams, OidcSource

__all__ = [
    "ATTEMPT_SECONDS",
    "Attempt",
    "BadAttempt",
    "CallbackParams",
    "OidcError",
    "OidcSource",
    "safe_next",
]
