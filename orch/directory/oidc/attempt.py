"""One sign-in attempt: the secrets of an authorization request, kept in the browser.

``GET …/oidc/start`` makes an :class:`Attempt` — 32 random bytes, the time and the
page to return to — and sets it as a short-lived HttpOnly cookie. ``state``,
``nonce`` and the PKCE ``code_verifier`` are *derived* from it with HMAC-SHA256 under
distinct labels (its time and return page included), so nothing is stored on the
server, any gateway can finish an attempt another one started, and:

- a callback without the cookie, or with another attempt's cookie, fails the state
  check (login CSRF, a link someone else started);
- an ID token issued for another authorization request fails the nonce check;
- a code intercepted on its way back cannot be redeemed without the verifier
  (PKCE S256), which never leaves the gateway but for the token endpoint;
- editing the cookie's time or return page changes every derived value.

The cookie is deleted when the callback is answered, whatever the outcome, and
an attempt older than :data:`ATTEMPT_SECONDS` is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

__all__ = ["ATTEMPT_SECONDS", "Attempt", "BadAttempt", "safe_next"]

ATTEMPT_SECONDS = 600
"""Longest time between the redirect to the provider and the callback."""

_VERSION = "1"


class BadAttempt(ValueError):
    """The cookie is missing, malformed or too old."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def safe_next(path: str | None) -> str:
    """A page of this console to go to after signing in ("/" for anything else).

    Only an absolute path on this origin: no scheme, no ``//host``, no backslash
    (browsers read ``/\\host`` as ``//host``), no control characters.
    """
    if (not path or not path.startswith("/") or path.startswith("//")
            or "\\" in path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)
            or len(path) > 1024):
        return "/"
    return path


@dataclass(frozen=True, slots=True)
class Attempt:
    secret: bytes
    created: int
    """Unix time the attempt started."""
    next: str
    """The console page to open once signed in."""

    @classmethod
    def new(cls, next_path: str | None = None, *, now: float | None = None) -> Attempt:
        return cls(secrets.token_bytes(32), int(time.time() if now is None else now),
                   safe_next(next_path))

    # -- the cookie ---------------------------------------------------------------
    def cookie(self) -> str:
        """``1.<secret>.<time>.<next>`` (base64url parts: cookie-safe, no quoting)."""
        return ".".join((_VERSION, _b64(self.secret), str(self.created),
                         _b64(self.next.encode())))

    @classmethod
    def from_cookie(cls, value: str | None, *, now: float | None = None) -> Attempt:
        if not value:
            raise BadAttempt("no sign-in attempt in this browser (its cookie is missing)")
        parts = value.split(".")
        try:
            version, secret, created, next_path = parts
            if version != _VERSION:
                raise ValueError(version)
            raw = _unb64(secret)
            when = int(created)
            target = _unb64(next_path).decode()
        except (ValueError, UnicodeDecodeError):
            raise BadAttempt("the sign-in attempt's cookie is malformed") from None
        if len(raw) != 32:
            raise BadAttempt("the sign-in attempt's cookie is malformed")
        age = (time.time() if now is None else now) - when
        if age > ATTEMPT_SECONDS or age < -60:
            raise BadAttempt(f"the sign-in attempt expired (after {ATTEMPT_SECONDS} s)")
        return cls(raw, when, safe_next(target))

    # -- derived values -----------------------------------------------------------
    def _derive(self, label: str) -> str:
        message = f"orch-oidc:{label}:{self.created}:{self.next}".encode()
        return _b64(hmac.new(self.secret, message, hashlib.sha256).digest())

    @property
    def state(self) -> str:
        return self._derive("state")

    @property
    def nonce(self) -> str:
        return self._derive("nonce")

    @property
    def code_verifier(self) -> str:
        """43 characters of base64url (RFC 7636: 43 to 128 of the unreserved set)."""
        return self._derive("pkce")

    @property
    def code_challenge(self) -> str:
        """S256: base64url(sha256(verifier)), unpadded."""
        return _b64(hashlib.sha256(self.code_verifier.encode("ascii")).digest())

    def state_matches(self, state: str | None) -> bool:
        return state is not None and hmac.compare_digest(state.encode(), self.state.encode())

    def nonce_matches(self, nonce: object) -> bool:
        return isinstance(nonce, str) and hmac.compare_digest(nonce.encode(),
                                                              self.nonce.encode())
