"""The configured identity sources of one process, by name."""

from __future__ import annotations

from collections.abc import Iterator

from orch.config import Settings
from orch.directory.identity import IdentitySource, PasswordSource

__all__ = ["Directory"]


class Directory:
    """The identity sources a gateway knows (none: local users only).

    Built from the settings by :meth:`from_settings`; other sources (OIDC) are
    added with :meth:`add`. Closing it closes every source.
    """

    def __init__(self, sources: list[IdentitySource] | None = None) -> None:
        self._sources: dict[str, IdentitySource] = {}
        for source in sources or ():
            self.add(source)

    @classmethod
    def from_settings(cls, settings: Settings) -> Directory:
        directory = cls()
        if settings.ldap_url:
            from orch.directory.ldap import LdapSource  # ldap3 only when configured

            directory.add(LdapSource.from_settings(settings))
        if settings.oidc_issuer:
            from orch.directory.oidc import OidcSource

            directory.add(OidcSource.from_settings(settings))
        return directory

    def add(self, source: IdentitySource) -> None:
        if source.name in self._sources:
            raise ValueError(f"identity source {source.name!r} added twice")
        self._sources[source.name] = source

    def get(self, name: str) -> IdentitySource | None:
        return self._sources.get(name)

    def __iter__(self) -> Iterator[IdentitySource]:
        return iter(self._sources.values())

    def __bool__(self) -> bool:
        return bool(self._sources)

    def password_sources(self) -> list[PasswordSource]:
        """The sources the log-in form checks a password against, in order."""
        return [s for s in self._sources.values() if isinstance(s, PasswordSource)]

    async def close(self) -> None:
        for source in self._sources.values():
            await source.close()
