"""LDAP / Active Directory as an identity source: ldap3, run off the event loop.

Sign-in: the service account (``ORCH_LDAP_BIND_DN``, or anonymous) searches the
user base with ``ORCH_LDAP_USER_FILTER``, the typed name escaped (RFC 4515, so
``*)(uid=*`` matches nothing but itself); exactly one entry must match. Then the
password is checked by binding as that entry's DN on a connection of its own (an
empty password is refused before: an LDAP bind with one is "unauthenticated" and
succeeds). A name nobody has still costs a bind, with a DN that does not exist, so
the time taken does not tell names apart.

Groups: the groups whose ``member``/``uniqueMember`` is the user's DN, and
nested ones. On Active Directory (its root DSE lists capability
1.2.840.113556.1.4.800) one search with ``LDAP_MATCHING_RULE_IN_CHAIN``
(1.2.840.113556.1.4.1941) gives them all; elsewhere (OpenLDAP) the groups that
contain those groups are searched level by level, each level one search, until no
new group appears (cycles end there; at most ``MAX_NESTING`` levels). A group's
name is its ``cn``. An entry whose ``userAccountControl`` has bit 2
(ACCOUNTDISABLE) set is disabled, whatever the server.

Every call runs in a small thread pool (``WORKERS`` threads) with ldap3's
synchronous client: connect and receive timeouts of ``ORCH_LDAP_TIMEOUT_SECONDS``
per server, the URLs of ``ORCH_LDAP_URL`` tried in order (failover), and an
overall deadline on the awaiting side, so a slow directory costs a request at
most that deadline and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import math
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from orch.config import Settings
from orch.directory.identity import (
    BadCredentials,
    DirectoryUnavailable,
    ExternalIdentity,
    UnknownUser,
)
from orch.logging import get_logger

__all__ = [
    "AD_CAPABILITY",
    "IN_CHAIN",
    "LdapConfig",
    "LdapSource",
    "group_filter",
    "is_disabled",
    "user_filter",
    "user_name",
]

log = get_logger("orch.directory.ldap")

AD_CAPABILITY = "1.2.840.113556.1.4.800"
"""LDAP_CAP_ACTIVE_DIRECTORY_OID, in the root DSE's supportedCapabilities on AD."""
IN_CHAIN = "1.2.840.113556.1.4.1941"
"""LDAP_MATCHING_RULE_IN_CHAIN: AD follows nested groups itself."""
UAC_ACCOUNTDISABLE = 0x2
DEFAULT_GROUP_FILTER = "(|(member={dn})(uniqueMember={dn}))"
AD_GROUP_FILTER = f"(member:{IN_CHAIN}:={{dn}})"
GROUP_CLASSES = ("(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
                 "(objectClass=group))")
NAME_ATTRIBUTES = ("sAMAccountName", "uid", "userPrincipalName")
USER_ATTRIBUTES = [*NAME_ATTRIBUTES, "userAccountControl"]
MAX_NESTING = 10
WORKERS = 4
INVALID_CREDENTIALS = 49
_SEARCH_OK = frozenset({0, 4, 32})  # success, sizeLimitExceeded, noSuchObject

T = TypeVar("T")


@dataclass(frozen=True)
class LdapConfig:
    urls: tuple[str, ...]
    bind_dn: str | None = None
    bind_password: str | None = None
    user_base: str = ""
    user_filter: str = "(|(uid={name})(sAMAccountName={name})(userPrincipalName={name}))"
    group_base: str = ""
    group_filter: str | None = None
    admin_groups: tuple[str, ...] = ()
    starttls: bool = False
    ca_file: str | None = None
    refresh_seconds: float = 300.0
    timeout_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapConfig:
        return cls(
            urls=settings.ldap_url, bind_dn=settings.ldap_bind_dn,
            bind_password=settings.ldap_bind_password, user_base=settings.ldap_user_base,
            user_filter=settings.ldap_user_filter, group_base=settings.ldap_group_base,
            group_filter=settings.ldap_group_filter, admin_groups=settings.ldap_admin_groups,
            starttls=settings.ldap_starttls, ca_file=settings.ldap_ca_file,
            refresh_seconds=settings.ldap_refresh_seconds,
            timeout_seconds=settings.ldap_timeout_seconds,
        )


# -- pure helpers (unit-tested) --------------------------------------------------------

def user_filter(template: str, name: str) -> str:
    """The user search filter for the typed ``name``, escaped per RFC 4515."""
    return template.replace("{name}", escape_filter_chars(name))


def group_filter(template: str, dns: list[str]) -> str:
    """The group search for members ``dns`` (one level of nesting at a time)."""
    parts = [template.replace("{dn}", escape_filter_chars(dn)) for dn in dns]
    return parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"


def _values(attributes: dict[str, Any], key: str) -> list[Any]:
    for k, v in attributes.items():
        if k.lower() == key.lower():
            return list(v) if isinstance(v, (list, tuple)) else [v]
    return []


def is_disabled(attributes: dict[str, Any]) -> bool:
    """AD's ACCOUNTDISABLE bit of ``userAccountControl`` (absent: enabled)."""
    for value in _values(attributes, "userAccountControl"):
        try:
            return bool(int(value) & UAC_ACCOUNTDISABLE)
        except (TypeError, ValueError):
            return True  # unreadable: not trusted as enabled
    return False


def user_name(attributes: dict[str, Any], typed: str) -> str:
    """orch's name for the entry: sAMAccountName, else uid, else the name typed."""
    for key in ("sAMAccountName", "uid"):
        values = _values(attributes, key)
        if values and str(values[0]):
            return str(values[0])
    return typed


def _cn(dn: str, attributes: dict[str, Any]) -> str:
    values = _values(attributes, "cn")
    if values:
        return str(values[0])
    return str(parse_dn(dn)[0][1])


# -- the synchronous client, run in worker threads ----------------------------------------

class _BindRefused(Exception):
    pass


class LdapClient:
    """ldap3's synchronous client over the configured servers (thread-safe: no shared
    connection; each call opens its own)."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self.description = "LDAP " + " ".join(config.urls)
        self._receive_timeout = max(1, math.ceil(config.timeout_seconds))
        """Whole seconds: ldap3 packs it into SO_RCVTIMEO as integers."""
        self._is_ad: bool | None = None

    def _server(self, url: str) -> Server:
        parts = urlsplit(url)
        secure = parts.scheme == "ldaps"
        tls = None
        if secure or self.config.starttls:
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.config.ca_file)
        return Server(parts.hostname or "localhost", port=parts.port or (636 if secure else 389),
                      use_ssl=secure, tls=tls, get_info=NONE,
                      connect_timeout=self.config.timeout_seconds)

    def _connect(self, server: Server, user: str | None, password: str | None) -> Connection:
        """An open, bound connection; raises LDAPException (unreachable) or _BindRefused."""
        conn = Connection(server, user=user, password=password, auto_bind=False,
                          receive_timeout=self._receive_timeout, read_only=True,
                          raise_exceptions=False, auto_referrals=False)
        conn.open(read_server_info=False)
        if self.config.starttls and not conn.start_tls(read_server_info=False):
            conn.unbind()
            raise LDAPException(f"StartTLS refused: {conn.result}")
        if not conn.bind(read_server_info=False):
            result = conn.result or {}
            conn.unbind()
            if result.get("result") is None:
                raise LDAPException("no answer to the bind")
            raise _BindRefused(f"{result.get('description')} ({result.get('message') or ''})")
        return conn

    def _service(self) -> tuple[Connection, Server]:
        """A connection bound as the service account, to the first server that answers."""
        reasons: list[str] = []
        for url in self.config.urls:
            server = self._server(url)  # new each time: ldap3 would skip one that failed
            try:
                return self._connect(server, self.config.bind_dn,
                                     self.config.bind_password), server
            except _BindRefused as exc:
                raise DirectoryUnavailable(
                    self.description, f"the service account's bind was refused at {url}: "
                    f"{exc} (ORCH_LDAP_BIND_DN / ORCH_LDAP_BIND_PASSWORD)") from None
            except (LDAPException, OSError) as exc:
                reasons.append(f"{url}: {exc}")
        raise DirectoryUnavailable(self.description, "; ".join(reasons) or "no server")

    def _search(self, conn: Connection, base: str, flt: str, attributes: list[str],
                scope: str = SUBTREE, size_limit: int = 0) -> list[tuple[str, dict[str, Any]]]:
        try:
            conn.search(base, flt, search_scope=scope, attributes=attributes,
                        size_limit=size_limit, time_limit=int(self.config.timeout_seconds) + 1)
        except LDAPException as exc:
            raise DirectoryUnavailable(self.description, f"search {flt!r} failed: {exc}") from None
        code = (conn.result or {}).get("result")
        if code not in _SEARCH_OK:
            raise DirectoryUnavailable(
                self.description, f"search {flt!r} under {base!r} failed: "
                f"{(conn.result or {}).get('description')}")
        return [(r["dn"], dict(r.get("attributes") or {})) for r in conn.response or ()
                if r.get("type") == "searchResEntry"]

    @property
    def server_kind(self) -> str | None:
        """``Active Directory`` or ``LDAP`` once a server answered (None before)."""
        return None if self._is_ad is None else ("Active Directory" if self._is_ad else "LDAP")

    def is_ad(self, conn: Connection) -> bool:
        """Whether the server is Active Directory (its root DSE, read once)."""
        if self._is_ad is None:
            entries = self._search(conn, "", "(objectClass=*)", ["supportedCapabilities"],
                                   scope=BASE)
            caps = _values(entries[0][1], "supportedCapabilities") if entries else []
            self._is_ad = AD_CAPABILITY in {str(c) for c in caps}
        return self._is_ad

    def _find_user(self, conn: Connection, name: str) -> tuple[str, dict[str, Any]] | None:
        entries = self._search(conn, self.config.user_base,
                               user_filter(self.config.user_filter, name), USER_ATTRIBUTES,
                               size_limit=2)
        if len(entries) != 1:
            if entries:
                log.warning("ambiguous directory user name", user=name, matches=len(entries))
            return None
        return entries[0]

    def _groups(self, conn: Connection, dn: str) -> list[str]:
        base = self.config.group_base
        if self.is_ad(conn):
            template = self.config.group_filter or AD_GROUP_FILTER
            return sorted({_cn(d, a) for d, a in
                           self._search(conn, base, group_filter(template, [dn]), ["cn"])})
        template = self.config.group_filter or DEFAULT_GROUP_FILTER
        found: dict[str, str] = {}
        frontier = [dn]
        for _ in range(MAX_NESTING):
            entries = self._search(conn, base, group_filter(template, frontier), ["cn"])
            new = [(d, a) for d, a in entries if d.lower() not in found]
            for d, a in new:
                found[d.lower()] = _cn(d, a)
            frontier = [d for d, _ in new]
            if not frontier:
                break
        return sorted(set(found.values()))

    def _identity(self, conn: Connection, dn: str, attributes: dict[str, Any],
                  typed: str) -> ExternalIdentity:
        disabled = is_disabled(attributes)
        groups = () if disabled else tuple(self._groups(conn, dn))
        admin_names = {g.casefold() for g in self.config.admin_groups}
        return ExternalIdentity(
            source="ldap", subject=dn, name=user_name(attributes, typed), groups=groups,
            is_admin=any(g.casefold() in admin_names for g in groups), active=not disabled,
        )

    def authenticate(self, name: str, password: str) -> ExternalIdentity:
        conn, server = self._service()
        try:
            found = self._find_user(conn, name)
            dn = found[0] if found else f"cn=orch-no-such-user,{self.config.user_base}"
            try:  # a bind even for an unknown name: the time taken tells nothing
                if not password:
                    raise _BindRefused("empty password")
                self._connect(server, dn, password).unbind()
                bound = True
            except _BindRefused:
                bound = False
            except (LDAPException, OSError) as exc:
                raise DirectoryUnavailable(self.description, f"bind failed: {exc}") from None
            if found is None:
                raise UnknownUser()
            if not bound or is_disabled(found[1]):
                raise BadCredentials()
            return self._identity(conn, found[0], found[1], name)
        finally:
            conn.unbind()

    def lookup(self, name: str) -> ExternalIdentity | None:
        """The user as the directory has it now (None: no longer there)."""
        conn, _ = self._service()
        try:
            found = self._find_user(conn, name)
            return None if found is None else self._identity(conn, found[0], found[1], name)
        finally:
            conn.unbind()

    def group_exists(self, name: str) -> bool:
        conn, _ = self._service()
        try:
            flt = f"(&{GROUP_CLASSES}(cn={escape_filter_chars(name)}))"
            return bool(self._search(conn, self.config.group_base, flt, ["cn"], size_limit=1))
        finally:
            conn.unbind()

    def list_groups(self) -> list[str]:
        conn, _ = self._service()
        try:
            flt = f"(&{GROUP_CLASSES}(cn=*))"
            try:
                entries = conn.extend.standard.paged_search(
                    self.config.group_base, flt, search_scope=SUBTREE, attributes=["cn"],
                    paged_size=500, generator=False)
            except LDAPException as exc:
                raise DirectoryUnavailable(self.description, f"group list failed: {exc}") \
                    from None
            return sorted({_cn(e["dn"], dict(e.get("attributes") or {}))
                           for e in entries or () if e.get("type") == "searchResEntry"})
        finally:
            conn.unbind()


# -- the asynchronous source ----------------------------------------------------------

class LdapSource:
    """The ``ldap`` identity source (see the module docstring)."""

    name = "ldap"

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self.client = LdapClient(config)
        self.description = self.client.description
        self.refresh_seconds: float | None = config.refresh_seconds
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="orch-ldap")
        self._deadline = config.timeout_seconds * (2 * len(config.urls) + 4)
        self._groups_cache: tuple[float, list[str]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapSource:
        return cls(LdapConfig.from_settings(settings))

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, functools.partial(fn, *args))
        try:
            return await asyncio.wait_for(future, self._deadline)
        except TimeoutError:
            raise DirectoryUnavailable(
                self.description, f"no answer within {self._deadline:g} s") from None

    async def authenticate(self, name: str, password: str) -> ExternalIdentity:
        return await self._run(self.client.authenticate, name, password)

    async def refresh(self, subject: str, name: str) -> ExternalIdentity | None:
        return await self._run(self.client.lookup, name)

    async def lookup(self, name: str) -> ExternalIdentity | None:
        return await self._run(self.client.lookup, name)

    async def group_exists(self, name: str) -> bool:
        return await self._run(self.client.group_exists, name)

    async def list_groups(self) -> list[str]:
        """The directory's groups, read again at most every ``refresh_seconds``."""
        now = time.monotonic()
        if self._groups_cache is not None and now - self._groups_cache[0] < \
                self.config.refresh_seconds:
            return self._groups_cache[1]
        names = await self._run(self.client.list_groups)
        self._groups_cache = (now, names)
        return names

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
