"""Why an OpenID Connect sign-in failed: a code for programs, a sentence for people.

The provider being unreachable (or answering nonsense) is the core's
:class:`~orch.directory.identity.DirectoryUnavailable` (a 503); everything else the
callback can get wrong is an :class:`OidcError` with its HTTP status.
"""

from __future__ import annotations

from orch.errors import OrchError

__all__ = ["OidcError"]


class OidcError(OrchError):
    """A sign-in refused: ``code`` (``oidc-state``, ``oidc-nonce``, …) and ``status``."""

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
