"""Settings read from the environment once, so every process agrees on them.

``ORCH_DATABASE_URL`` unset means "use the embedded PostgreSQL of ``ORCH_DATA_DIR``".
Server knobs are here (not scattered as constants) so tests can shrink every
interval to make failover and polling scenarios take seconds.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from orch.errors import ConfigError

LDAP_USER_FILTER = "(|(uid={name})(sAMAccountName={name})(userPrincipalName={name}))"
"""Matches the name typed against OpenLDAP's and Active Directory's usual attributes."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    database_url: str | None = None
    data_dir: Path = Path(".orch")
    url: str | None = None
    token: str | None = None
    server_name: str = ""
    capacity: int = 1000
    heartbeat_seconds: float = 1.0
    """How often a runbook server refreshes its row (and looks for lapsed peers)."""
    poll_seconds: float = 5.0
    server_timeout_seconds: float = 3.0
    """A server silent this long is marked down and its instances taken over: a
    failover takes at most about timeout + heartbeat (orch/server/README.md)."""
    shutdown_grace_seconds: float = 30.0
    pool_size: int = 4
    """Connections per server pool (2 cores: a few are plenty; the listener is extra)."""
    claim_batch: int = 50
    """Most jobs claimed in one round trip."""
    accept_pushes: bool = True
    """While idle, take jobs their start hands over (``orch_push``, no claim round trip:
    orch/server/README.md "Pushed jobs"); off: this server only claims."""
    commit_batch: int = 2000
    """Most records written by one group commit."""
    commit_inflight: int = 2
    """Group commits in flight at once (each on its own connection)."""
    notify_smtp_host: str | None = None
    """Runbook notifications by email (orch/server/notifier.py): the SMTP server; unset: none."""
    notify_smtp_port: int = 25
    notify_smtp_from: str = "orch@localhost"
    notify_smtp_to: tuple[str, ...] = ()
    notify_webhook_url: str | None = None
    """Runbook notifications POSTed as JSON here; unset: none."""
    notify_webhook_secret: str | None = None
    """Key of the ``X-Orch-Signature: sha256=<HMAC-SHA256 of the body>`` header."""
    notify_retry_seconds: float = 5.0
    """First back-off after a failed delivery; doubled after each further failure."""
    notify_max_attempts: int = 8
    login_window_seconds: float = 300.0
    """Login rate limiting (orch/gateway/throttle.py): failed logins counted over this
    sliding window, in the database so every gateway sees the same count."""
    login_max_failures: int = 5
    """Failures of one user name from one address within the window before a 429."""
    login_max_failures_per_address: int = 20
    """Failures from one address (any user names) within the window before a 429."""
    retention_days: float | None = None
    """Finished jobs (and their instances, runs, logs) and events older than this are
    purged automatically by one runbook server (orch/db/purge.py); unset: never."""
    audit_retention_days: float | None = None
    """Audit entries older than this are purged too; unset: kept."""
    purge_interval_seconds: float = 3600.0
    """How often the automatic purge looks (one server at a time: advisory lock)."""
    metrics: str = "token"
    """The gateway's ``/metrics``: ``public``, ``token`` (any valid API token or console
    session) or ``off`` (no route)."""
    metrics_port: int | None = None
    """A runbook server's own ``/metrics`` listener on 127.0.0.1 (0: any free port); unset: none."""
    designer_tests: bool = True
    """The designer's "Test" (``POST /api/v1/runbooks/test``) runs drafts in the gateway's
    process; ``ORCH_DESIGNER_TESTS=off`` refuses them (403)."""
    ldap_url: tuple[str, ...] = ()
    """Directory sign-in (orch/directory/): ``ldap://`` or ``ldaps://`` URLs, tried in
    order (failover); empty: local users only. The other ``ldap_*`` knobs below."""
    ldap_bind_dn: str | None = None
    """The service account that searches users and groups (unset: anonymous)."""
    ldap_bind_password: str | None = None
    ldap_user_base: str = ""
    ldap_user_filter: str = LDAP_USER_FILTER
    """``{name}`` is the name typed, escaped (RFC 4515)."""
    ldap_group_base: str = ""
    ldap_group_filter: str | None = None
    """``{dn}`` is the user's DN (escaped); unset: member/uniqueMember, nested groups
    walked (LDAP_MATCHING_RULE_IN_CHAIN on Active Directory)."""
    ldap_admin_groups: tuple[str, ...] = ()
    """Directory groups whose members are orch admins."""
    ldap_starttls: bool = False
    ldap_ca_file: str | None = None
    ldap_refresh_seconds: float = 300.0
    """A directory user's groups are read again when older than this."""
    ldap_timeout_seconds: float = 5.0
    """Connect, bind and search timeout for each directory server."""
    oidc_issuer: str | None = None
    """OpenID Connect sign-in (orch/directory/oidc/): the provider's issuer URL (its
    ``/.well-known/openid-configuration`` is read); unset: no "Sign in with" button."""
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    """Unset: a public client (PKCE only, ``token_endpoint_auth_method=none``)."""
    oidc_groups_claim: str = "groups"
    """The ID token / userinfo claim listing the user's groups (each is ``group:<name>``)."""
    oidc_admin_groups: tuple[str, ...] = ()
    """Provider groups whose members are orch admins."""
    oidc_scopes: tuple[str, ...] = ("openid", "profile", "email")
    """Scopes asked for (add the one that releases the groups claim, e.g. ``groups``)."""
    oidc_name_claim: str = "preferred_username"
    """The claim that names the orch user (the ``sub`` stays the link)."""
    oidc_redirect_url: str | None = None
    """The callback URL registered at the provider; unset: this gateway's
    ``/api/v1/session/oidc/callback`` as the request reached it."""
    oidc_label: str | None = None
    """The console's "Sign in with <label>"; unset: the issuer's host name."""
    oidc_timeout_seconds: float = 10.0
    """Every call to the provider (discovery, keys, token, userinfo) ends within this."""
    request_timeout_seconds: float = 60.0
    """The gateway's deadline for each request (websockets excepted): past it, 503
    ``timeout`` — a database that does not answer never hangs a client. Above the
    longest long poll (a test run's ``wait``, 30 s)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build from ``env`` (default ``os.environ``); keyword overrides win (CLI options)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "database_url": env.get("ORCH_DATABASE_URL") or None,
            "data_dir": Path(env.get("ORCH_DATA_DIR") or ".orch"),
            "url": env.get("ORCH_URL") or None,
            "token": env.get("ORCH_TOKEN") or None,
            "server_name": env.get("ORCH_SERVER_NAME") or socket.gethostname(),
            "capacity": _number(env, "ORCH_CAPACITY", 1000, int),
            "heartbeat_seconds": _number(env, "ORCH_HEARTBEAT_SECONDS", 1.0, float),
            "poll_seconds": _number(env, "ORCH_POLL_SECONDS", 5.0, float),
            "server_timeout_seconds": _number(env, "ORCH_SERVER_TIMEOUT_SECONDS", 3.0, float),
            "shutdown_grace_seconds": _number(env, "ORCH_SHUTDOWN_GRACE_SECONDS", 30.0, float),
            "pool_size": _number(env, "ORCH_POOL_SIZE", 4, int),
            "claim_batch": _number(env, "ORCH_CLAIM_BATCH", 50, int),
            "accept_pushes": _flag(env, "ORCH_ACCEPT_PUSHES")
                             if env.get("ORCH_ACCEPT_PUSHES", "").strip() else True,
            "commit_batch": _number(env, "ORCH_COMMIT_BATCH", 2000, int),
            "commit_inflight": _number(env, "ORCH_COMMIT_INFLIGHT", 2, int),
            "notify_smtp_host": env.get("ORCH_NOTIFY_SMTP_HOST") or None,
            "notify_smtp_port": _number(env, "ORCH_NOTIFY_SMTP_PORT", 25, int),
            "notify_smtp_from": env.get("ORCH_NOTIFY_SMTP_FROM") or "orch@localhost",
            "notify_smtp_to": tuple(a.strip() for a in env.get("ORCH_NOTIFY_SMTP_TO", "").split(",")
                                    if a.strip()),
            "notify_webhook_url": env.get("ORCH_NOTIFY_WEBHOOK_URL") or None,
            "notify_webhook_secret": env.get("ORCH_NOTIFY_WEBHOOK_SECRET") or None,
            "notify_retry_seconds": _number(env, "ORCH_NOTIFY_RETRY_SECONDS", 5.0, float),
            "notify_max_attempts": _number(env, "ORCH_NOTIFY_MAX_ATTEMPTS", 8, int),
            "login_window_seconds": _number(env, "ORCH_LOGIN_WINDOW_SECONDS", 300.0, float),
            "login_max_failures": _number(env, "ORCH_LOGIN_MAX_FAILURES", 5, int),
            "login_max_failures_per_address": _number(
                env, "ORCH_LOGIN_MAX_FAILURES_PER_ADDRESS", 20, int),
            "retention_days": _number(env, "ORCH_RETENTION_DAYS", None, float),
            "audit_retention_days": _number(env, "ORCH_AUDIT_RETENTION_DAYS", None, float),
            "purge_interval_seconds": _number(env, "ORCH_PURGE_INTERVAL_SECONDS", 3600.0, float),
            "metrics": env.get("ORCH_METRICS") or "token",
            "metrics_port": _number(env, "ORCH_METRICS_PORT", None, int),
            "designer_tests": _flag(env, "ORCH_DESIGNER_TESTS")
                              if env.get("ORCH_DESIGNER_TESTS", "").strip() else True,
            "ldap_url": tuple(env.get("ORCH_LDAP_URL", "").split()),
            "ldap_bind_dn": env.get("ORCH_LDAP_BIND_DN") or None,
            "ldap_bind_password": env.get("ORCH_LDAP_BIND_PASSWORD") or None,
            "ldap_user_base": env.get("ORCH_LDAP_USER_BASE", ""),
            "ldap_user_filter": env.get("ORCH_LDAP_USER_FILTER") or LDAP_USER_FILTER,
            "ldap_group_base": env.get("ORCH_LDAP_GROUP_BASE", ""),
            "ldap_group_filter": env.get("ORCH_LDAP_GROUP_FILTER") or None,
            "ldap_admin_groups": tuple(g.strip() for g in env.get("ORCH_LDAP_ADMIN_GROUPS", "")
                                       .split(",") if g.strip()),
            "ldap_starttls": _flag(env, "ORCH_LDAP_STARTTLS"),
            "ldap_ca_file": env.get("ORCH_LDAP_CA_FILE") or None,
            "ldap_refresh_seconds": _number(env, "ORCH_LDAP_REFRESH_SECONDS", 300.0, float),
            "ldap_timeout_seconds": _number(env, "ORCH_LDAP_TIMEOUT_SECONDS", 5.0, float),
            "oidc_issuer": env.get("ORCH_OIDC_ISSUER") or None,
            "oidc_client_id": env.get("ORCH_OIDC_CLIENT_ID") or None,
            "oidc_client_secret": env.get("ORCH_OIDC_CLIENT_SECRET") or None,
            "oidc_groups_claim": env.get("ORCH_OIDC_GROUPS_CLAIM") or "groups",
            "oidc_admin_groups": _names(env, "ORCH_OIDC_ADMIN_GROUPS", ","),
            "oidc_scopes": _names(env, "ORCH_OIDC_SCOPES", None) or ("openid", "profile", "email"),
            "oidc_name_claim": env.get("ORCH_OIDC_NAME_CLAIM") or "preferred_username",
            "oidc_redirect_url": env.get("ORCH_OIDC_REDIRECT_URL") or None,
            "oidc_label": env.get("ORCH_OIDC_LABEL") or None,
            "oidc_timeout_seconds": _number(env, "ORCH_OIDC_TIMEOUT_SECONDS", 10.0, float),
            "request_timeout_seconds": _number(env, "ORCH_REQUEST_TIMEOUT_SECONDS", 60.0, float),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values["data_dir"], str):
            values["data_dir"] = Path(values["data_dir"])
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.capacity < 1:
            raise ConfigError("capacity must be at least 1", path="ORCH_CAPACITY")
        for name in ("heartbeat_seconds", "poll_seconds", "server_timeout_seconds",
                     "request_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive", path=f"ORCH_{name.upper()}")
        if self.server_timeout_seconds <= self.heartbeat_seconds:
            # a live server would be marked down between two of its own heartbeats
            raise ConfigError("must exceed ORCH_HEARTBEAT_SECONDS",
                              path="ORCH_SERVER_TIMEOUT_SECONDS")
        if self.shutdown_grace_seconds < 0:
            raise ConfigError("must not be negative", path="ORCH_SHUTDOWN_GRACE_SECONDS")
        if self.notify_smtp_host and not self.notify_smtp_to:
            raise ConfigError("ORCH_NOTIFY_SMTP_HOST needs recipients", path="ORCH_NOTIFY_SMTP_TO")
        if self.notify_retry_seconds <= 0 or self.notify_max_attempts < 1:
            raise ConfigError("notification retries need a positive back-off and attempts",
                              path="ORCH_NOTIFY_RETRY_SECONDS")
        if self.login_window_seconds <= 0 or min(self.login_max_failures,
                                                 self.login_max_failures_per_address) < 1:
            raise ConfigError("login rate limiting needs a positive window and limits",
                              path="ORCH_LOGIN_WINDOW_SECONDS")
        for name in ("retention_days", "audit_retention_days"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ConfigError("must be positive", path=f"ORCH_{name.upper()}")
        if self.purge_interval_seconds <= 0:
            raise ConfigError("must be positive", path="ORCH_PURGE_INTERVAL_SECONDS")
        if self.metrics not in ("public", "token", "off"):
            raise ConfigError("must be public, token or off", path="ORCH_METRICS")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ConfigError("not a port", path="ORCH_METRICS_PORT")
        self._check_ldap()
        self._check_oidc()
        if min(self.pool_size, self.claim_batch, self.commit_batch, self.commit_inflight) < 1:
            raise ConfigError(
                "pool_size, claim_batch, commit_batch and commit_inflight must be at least 1"
            )

    def _check_ldap(self) -> None:
        for url in self.ldap_url:
            if not url.startswith(("ldap://", "ldaps://")):
                raise ConfigError(f"not an ldap:// or ldaps:// URL: {url!r}", path="ORCH_LDAP_URL")
        if not self.ldap_url:
            return
        if self.ldap_starttls and any(u.startswith("ldaps://") for u in self.ldap_url):
            raise ConfigError("StartTLS is for ldap:// URLs (ldaps:// is TLS already)",
                              path="ORCH_LDAP_STARTTLS")
        if "{name}" not in self.ldap_user_filter:
            raise ConfigError("the filter must contain {name}", path="ORCH_LDAP_USER_FILTER")
        if self.ldap_group_filter is not None and "{dn}" not in self.ldap_group_filter:
            raise ConfigError("the filter must contain {dn}", path="ORCH_LDAP_GROUP_FILTER")
        if self.ldap_ca_file is not None and not Path(self.ldap_ca_file).is_file():
            raise ConfigError(f"no such file: {self.ldap_ca_file}", path="ORCH_LDAP_CA_FILE")
        if self.ldap_refresh_seconds <= 0:
            raise ConfigError("must be positive", path="ORCH_LDAP_REFRESH_SECONDS")
        if self.ldap_timeout_seconds <= 0:
            raise ConfigError("must be positive", path="ORCH_LDAP_TIMEOUT_SECONDS")

    def _check_oidc(self) -> None:
        if self.oidc_issuer is None:
            return
        _check_url(self.oidc_issuer, "ORCH_OIDC_ISSUER")
        if not self.oidc_client_id:
            raise ConfigError("ORCH_OIDC_ISSUER needs a client id", path="ORCH_OIDC_CLIENT_ID")
        if "openid" not in self.oidc_scopes:
            raise ConfigError("must include openid", path="ORCH_OIDC_SCOPES")
        if self.oidc_redirect_url is not None:
            _check_url(self.oidc_redirect_url, "ORCH_OIDC_REDIRECT_URL")
        if self.oidc_timeout_seconds <= 0:
            raise ConfigError("must be positive", path="ORCH_OIDC_TIMEOUT_SECONDS")

    def replace(self, **changes: Any) -> Settings:
        return msgspec.structs.replace(self, **changes)


def _names(env: Mapping[str, str], key: str, sep: str | None) -> tuple[str, ...]:
    """A list setting: ``sep``-separated (None: whitespace), blanks dropped."""
    return tuple(n.strip() for n in env.get(key, "").split(sep) if n.strip())


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_url(url: str, key: str) -> None:
    """An absolute https URL (plain http only on the loopback, for tests and trials)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not an http(s) URL: {url!r}", path=key)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ConfigError(f"must be https (plain http only on the loopback): {url!r}", path=key)
    if parts.query or parts.fragment:
        raise ConfigError(f"must not have a query or fragment: {url!r}", path=key)


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = (env.get(key) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"not true/false: {raw!r}", path=key)


def _number(env: Mapping[str, str], key: str, default: Any, kind: type) -> Any:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"not a number: {raw!r}", path=key) from None
