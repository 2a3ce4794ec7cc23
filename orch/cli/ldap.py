"""``orch ldap test NAME`` — check the directory settings by looking a user up.

It reads the same ``ORCH_LDAP_*`` variables as the gateway, binds as the service
account, finds the user and its groups (nested ones included) and prints them;
``--password`` also checks a password by binding as the user. Any failure (no
configuration, directory unreachable, no such user, wrong password) is one line
on stderr and exit status 1.
"""

from __future__ import annotations

import click

from orch.cli.main import cli
from orch.cli.output import fail, handle_errors, json_option, print_json, run
from orch.config import Settings
from orch.directory import BadCredentials, DirectoryUnavailable, ExternalIdentity

__all__ = ["DIRECTORY_HELP"]

DIRECTORY_HELP = """\b
Directory sign-in (LDAP / Active Directory; README, "Security"):
  ORCH_LDAP_URL            ldap:// or ldaps:// URLs, space-separated, tried in order
  ORCH_LDAP_BIND_DN        service account that searches (unset: anonymous)
  ORCH_LDAP_BIND_PASSWORD  its password
  ORCH_LDAP_USER_BASE      where users are searched
  ORCH_LDAP_USER_FILTER    {name} = the name typed, escaped [default: uid,
                           sAMAccountName or userPrincipalName equal to it]
  ORCH_LDAP_GROUP_BASE     where groups are searched
  ORCH_LDAP_GROUP_FILTER   {dn} = the user's DN [default: member/uniqueMember,
                           nested groups; LDAP_MATCHING_RULE_IN_CHAIN on AD]
  ORCH_LDAP_ADMIN_GROUPS   comma-separated groups whose members are orch admins
  ORCH_LDAP_STARTTLS       true: StartTLS on ldap:// URLs
  ORCH_LDAP_CA_FILE        CA certificates (PEM) that sign the directory's
  ORCH_LDAP_REFRESH_SECONDS  groups read again when older [default: 300]
  ORCH_LDAP_TIMEOUT_SECONDS  connect/bind/search timeout per server [default: 5]
Check them with: orch ldap test NAME [--password]"""


@cli.group()
def ldap() -> None:
    """Directory sign-in (LDAP / Active Directory)."""


@ldap.command("test", epilog=DIRECTORY_HELP)
@click.argument("name")
@click.option("--password", is_flag=True,
              help="Also check NAME's password (asked for, not echoed) by binding as NAME.")
@json_option
@handle_errors
def test(name: str, password: bool, as_json: bool) -> None:
    """Look NAME up in the directory: print its DN, groups, and whether admin or disabled."""
    settings = Settings.from_env()
    if not settings.ldap_url:
        fail("no directory configured: set ORCH_LDAP_URL (see orch ldap test --help)")
    secret = click.prompt("Password", hide_input=True) if password else None
    run(_test(settings, name, secret, as_json))


async def _test(settings: Settings, name: str, secret: str | None, as_json: bool) -> None:
    from orch.directory.ldap import LdapSource

    source = LdapSource.from_settings(settings)
    try:
        found: ExternalIdentity | None
        if secret is not None:
            found = await source.authenticate(name, secret)
        else:
            found = await source.lookup(name)
    except BadCredentials:
        fail(f"{name}: wrong user name or password (or the account is disabled)")
    except DirectoryUnavailable as exc:
        fail(exc.message)
    finally:
        await source.close()
    if found is None:
        fail(f"{name}: no such user under {settings.ldap_user_base!r} "
             f"({settings.ldap_user_filter})")
    if as_json:
        print_json({"directory": source.description, "server": source.client.server_kind,
                    "name": found.name, "dn": found.subject, "groups": list(found.groups),
                    "admin": found.is_admin, "disabled": not found.active,
                    "password_checked": secret is not None})
        return
    click.echo(f"directory: {source.description} ({source.client.server_kind})")
    click.echo(f"user:      {found.name}")
    click.echo(f"dn:        {found.subject}")
    click.echo(f"groups:    {', '.join(found.groups) or '(none)'}")
    click.echo(f"admin:     {'yes' if found.is_admin else 'no'}")
    click.echo(f"disabled:  {'yes (userAccountControl)' if not found.active else 'no'}")
    if secret is not None:
        click.echo("password:  ok")
