"""Permission verbs: users, groups, grants and tokens through the gateway; key rotation locally.

- ``orch user add NAME [--group G] [--password]``, ``orch user passwd NAME``,
  ``orch user disable|enable NAME``
- ``orch group add NAME``, ``orch group member-add|member-remove GROUP USER``
- ``orch grant PRINCIPAL PATH RIGHT...`` (``user:NAME`` or ``group:NAME``),
  ``orch grant revoke PRINCIPAL PATH [RIGHT...]``, ``orch grant list``
- ``orch token create NAME [--expires-in 30d] [--user U]``, ``orch token list``,
  ``orch token revoke ID``
- ``orch variable set NAME VALUE [--encrypted]``
- ``orch variable rotate-key``: a new key first in the key ring, every encrypted
  variable re-encrypted with it in one transaction, then the old key dropped.
  Works on the database directly (it needs the key, which the gateway's
  clients never see).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from orch.api.security import (
    GrantList,
    GrantRecord,
    Group,
    NewToken,
    TokenList,
    User,
    Variable,
)
from orch.cli.main import cli
from orch.cli.output import fail, handle_errors, json_option, print_json, run
from orch.cli.remote import Remote, remote_options
from orch.client import API_PREFIX, Client, _api_error
from orch.config import Settings

T = TypeVar("T")
RIGHTS = ("view", "start", "stop", "design", "deploy", "manage_permissions")
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s``."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise click.BadParameter(f"not a duration like 30d, 12h or 90m: {text!r}")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


async def _api(remote: Remote, method: str, path: str, type_: type[T],
               body: Any = None, params: dict[str, str] | None = None) -> T:
    async with remote.client() as client:
        return await _call(client, method, path, type_, body, params)


async def _call(client: Client, method: str, path: str, type_: type[T], body: Any = None,
                params: dict[str, str] | None = None) -> T:
    data = None if body is None else msgspec.json.encode(body)
    return await client._call(method, path, type_, body=data, params=params)


async def _delete(client: Client, path: str, params: dict[str, str] | None = None) -> None:
    """A DELETE answered with 204 (no body for ``Client._call`` to decode)."""
    async with client._get_session().delete(f"{client.url}{API_PREFIX}{path}",
                                            params=params) as resp:
        payload = await resp.read()
        if resp.status >= 400:
            raise _api_error(resp.status, payload)


def _show(value: Any, as_json: bool, text: str) -> None:
    if as_json:
        print_json(value)
    else:
        click.echo(text)


def _new_password() -> str:
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


# -- users and groups -------------------------------------------------------------------

@cli.group()
def user() -> None:
    """Users: add, set a password, disable or enable (needs manage_permissions)."""


@user.command("add")
@click.argument("name")
@click.option("--group", "groups", multiple=True, help="A group to join (repeatable).")
@click.option("--password", "ask", is_flag=True, help="Ask for a password (console log-in).")
@remote_options
@json_option
@handle_errors
def user_add(name: str, groups: tuple[str, ...], ask: bool, remote: Remote,
             as_json: bool) -> None:
    """Add the user NAME (tokens only, unless --password)."""
    body = {"name": name, "groups": list(groups), "password": _new_password() if ask else None}
    result = run(_api(remote, "POST", "/users", User, body))
    _show(result, as_json, f"user {result.name} added")


@user.command("passwd")
@click.argument("name")
@remote_options
@json_option
@handle_errors
def user_passwd(name: str, remote: Remote, as_json: bool) -> None:
    """Set the password of NAME (its console sessions end)."""
    result = run(_api(remote, "PATCH", f"/users/{name}", User, {"password": _new_password()}))
    _show(result, as_json, f"password of {result.name} changed")


@user.command("disable")
@click.argument("name")
@remote_options
@json_option
@handle_errors
def user_disable(name: str, remote: Remote, as_json: bool) -> None:
    """Disable NAME: its tokens and sessions stop working at once."""
    result = run(_api(remote, "PATCH", f"/users/{name}", User, {"disabled": True}))
    _show(result, as_json, f"user {result.name} disabled")


@user.command("enable")
@click.argument("name")
@remote_options
@json_option
@handle_errors
def user_enable(name: str, remote: Remote, as_json: bool) -> None:
    """Enable NAME again."""
    result = run(_api(remote, "PATCH", f"/users/{name}", User, {"disabled": False}))
    _show(result, as_json, f"user {result.name} enabled")


@cli.group()
def group() -> None:
    """Groups and their members (needs manage_permissions)."""


@group.command("add")
@click.argument("name")
@remote_options
@json_option
@handle_errors
def group_add(name: str, remote: Remote, as_json: bool) -> None:
    """Add the group NAME."""
    result = run(_api(remote, "POST", "/groups", Group, {"name": name}))
    _show(result, as_json, f"group {result.name} added")


@group.command("member-add")
@click.argument("group_name", metavar="GROUP")
@click.argument("user_name", metavar="USER")
@remote_options
@json_option
@handle_errors
def member_add(group_name: str, user_name: str, remote: Remote, as_json: bool) -> None:
    """Add USER to GROUP."""
    result = run(_api(remote, "PUT", f"/groups/{group_name}/members/{user_name}", Group))
    _show(result, as_json, f"group {result.name}: {', '.join(result.members)}")


@group.command("member-remove")
@click.argument("group_name", metavar="GROUP")
@click.argument("user_name", metavar="USER")
@remote_options
@json_option
@handle_errors
def member_remove(group_name: str, user_name: str, remote: Remote, as_json: bool) -> None:
    """Remove USER from GROUP."""
    result = run(_api(remote, "DELETE", f"/groups/{group_name}/members/{user_name}", Group))
    _show(result, as_json, f"group {result.name}: {', '.join(result.members) or '(empty)'}")


# -- grants -----------------------------------------------------------------------------

def _grant_line(g: GrantRecord) -> str:
    return f"{g.id}  {g.principal}  {g.target}  {','.join(g.rights)}"


async def _revoke(remote: Remote, principal: str, target: str, rights: list[str]) -> str:
    async with remote.client() as client:
        found = await _call(client, "GET", "/grants", GrantList,
                            params={"principal": principal, "target": target})
        if not found.items:
            fail(f"{principal} holds no grant on {target}")
        params = {"rights": ",".join(rights)} if rights else None
        await _delete(client, f"/grants/{found.items[0].id}", params)
    return f"revoked {','.join(rights) or 'every right'} of {principal} on {target}"


@cli.command("grant", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True,
                metavar="PRINCIPAL PATH RIGHT... | revoke PRINCIPAL PATH [RIGHT...] | list")
@remote_options
@json_option
@handle_errors
def grant(args: tuple[str, ...], remote: Remote, as_json: bool) -> None:
    """Grant rights on a runbook or folder path (inherited below it).

    PRINCIPAL is user:NAME or group:NAME; rights: view, start, stop, design, and on /
    deploy and manage_permissions. `orch grant revoke` takes rights away (all when
    none are named); `orch grant list` shows every grant.
    """
    words = list(args)
    if words[0] == "list":
        listed = run(_api(remote, "GET", "/grants", GrantList, params={"limit": "1000"}))
        _show(listed, as_json, "\n".join(_grant_line(g) for g in listed.items) or "no grants")
        return
    revoke = words[0] == "revoke"
    if revoke:
        words = words[1:]
    if len(words) < (2 if revoke else 3):
        fail("usage: orch grant PRINCIPAL PATH RIGHT... (or revoke PRINCIPAL PATH [RIGHT...])")
    principal, target, rights = words[0], words[1], words[2:]
    for right in rights:
        if right not in RIGHTS:
            fail(f"unknown right {right!r} (one of {', '.join(RIGHTS)})")
    if revoke:
        click.echo(run(_revoke(remote, principal, target, rights)))
        return
    body = {"principal": principal, "target": target, "rights": rights}
    result = run(_api(remote, "POST", "/grants", GrantRecord, body))
    _show(result, as_json, _grant_line(result))


# -- tokens -----------------------------------------------------------------------------

@cli.group()
def token() -> None:
    """API tokens: create (the secret is shown once), list, revoke."""


@token.command("create")
@click.argument("name")
@click.option("--expires-in", default=None, help="Lifetime, e.g. 30d, 12h (default: none).")
@click.option("--user", "for_user", default=None, help="For another user (manage_permissions).")
@remote_options
@json_option
@handle_errors
def token_create(name: str, expires_in: str | None, for_user: str | None, remote: Remote,
                 as_json: bool) -> None:
    """Create a token named NAME; its secret is printed this once."""
    expires = None
    if expires_in is not None:
        expires = (datetime.now(UTC) + parse_duration(expires_in)).isoformat()
    path = "/tokens" if for_user is None else f"/users/{for_user}/tokens"
    result = run(_api(remote, "POST", path, NewToken, {"name": name, "expires_at": expires}))
    _show(result, as_json, f"token {result.id} for {result.user} (shown once):\n{result.token}")


@token.command("list")
@click.option("--user", "for_user", default=None, help="Another user's (manage_permissions).")
@remote_options
@json_option
@handle_errors
def token_list(for_user: str | None, remote: Remote, as_json: bool) -> None:
    """Your tokens (never their secrets)."""
    params = {"limit": "1000", **({"user": for_user} if for_user else {})}
    result = run(_api(remote, "GET", "/tokens", TokenList, params=params))
    lines = [
        f"{t.id}  {t.name}  created {t.created_at:%Y-%m-%d}"
        + (f"  expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "")
        + ("  REVOKED" if t.revoked_at else "")
        for t in result.items
    ]
    _show(result, as_json, "\n".join(lines) or "no tokens")


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@remote_options
@handle_errors
def token_revoke(token_id: str, remote: Remote) -> None:
    """Revoke the token ID (yours, or anyone's with manage_permissions)."""

    async def go() -> None:
        async with remote.client() as client:
            await _delete(client, f"/tokens/{token_id}")

    run(go())
    click.echo(f"token {token_id} revoked")


# -- variables --------------------------------------------------------------------------

@cli.group()
def variable() -> None:
    """Variables used as {variable:Name}; encrypted ones, and their key."""


@variable.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--encrypted", is_flag=True, help="Store encrypted; shown as ******** after.")
@remote_options
@json_option
@handle_errors
def variable_set(name: str, value: str, encrypted: bool, remote: Remote, as_json: bool) -> None:
    """Set the variable NAME."""
    result = run(_api(remote, "PUT", f"/variables/{name}", Variable,
                      {"value": value, "encrypted": encrypted}))
    _show(result, as_json, f"variable {result.name} = {result.value}")


async def rotate_key(settings: Settings) -> int:
    """Re-encrypt every encrypted variable with a new key; the number re-encrypted."""
    from cryptography.fernet import Fernet

    from orch.crypto import ENV, KeyRing, write_key_file
    from orch.db.connect import connect, resolve_dsn
    from orch.sql import Q

    old = KeyRing.load(settings.data_dir)
    if old is None:
        fail(f"no secret key: neither {ENV} nor {Path(settings.data_dir) / 'secret.key'}")
    if old.from_environment:
        fail(f"the key comes from {ENV}: rotate it there (set the new key first, "
             "the old one after a comma), then run this again with only the new one")
    new_key = Fernet.generate_key()
    write_key_file(settings.data_dir, [new_key, *old.keys])  # both decrypt meanwhile
    ring = KeyRing([new_key, *old.keys])
    dsn, embedded = await resolve_dsn(settings)
    try:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                rows = await conn.fetch(Q.security_encrypted_variables)
                for row in rows:
                    clear = ring.decrypt(row["value"])
                    await conn.execute(Q.security_variable_reencrypt, row["name"],
                                       KeyRing([new_key]).encrypt(clear))
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await embedded.stop()
    write_key_file(settings.data_dir, [new_key])
    return len(rows)


@variable.command("rotate-key")
@click.option("--database-url", envvar="ORCH_DATABASE_URL", default=None,
              help="PostgreSQL URL [env ORCH_DATABASE_URL; default: the embedded one].")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Data folder holding secret.key [env ORCH_DATA_DIR; ./.orch].")
@handle_errors
def variable_rotate_key(database_url: str | None, data_dir: Path | None) -> None:
    """Encrypt every encrypted variable with a new key (written to secret.key)."""
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    count = run(rotate_key(settings))
    click.echo(f"re-encrypted {count} variable(s) with a new key in "
               f"{Path(settings.data_dir) / 'secret.key'}")
