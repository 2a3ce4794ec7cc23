"""``orch oidc check`` — check the OpenID Connect settings against the provider.

It reads the same ``ORCH_OIDC_*`` variables as the gateway, fetches the provider's
discovery document (its ``issuer`` must be ``ORCH_OIDC_ISSUER`` exactly, PKCE S256
must be offered) and its signing keys, and prints what an admin registers at the
provider (the redirect URL) and what orch will ask for. Any failure is one line on
stderr and exit status 1.
"""

from __future__ import annotations

import click

from orch.cli.main import cli
from orch.cli.output import fail, handle_errors, json_option, print_json, run
from orch.config import Settings
from orch.directory import DirectoryUnavailable
from orch.logging import configure as configure_logging

__all__ = ["OIDC_HELP"]

OIDC_HELP = """\b
Sign-in with an OpenID provider (README, "Security"):
  ORCH_OIDC_ISSUER         the provider's issuer URL (https; http only on loopback)
  ORCH_OIDC_CLIENT_ID      orch's client at the provider
  ORCH_OIDC_CLIENT_SECRET  its secret (unset: a public client, PKCE only)
  ORCH_OIDC_GROUPS_CLAIM   claim listing the user's groups [default: groups]
  ORCH_OIDC_ADMIN_GROUPS   comma-separated groups whose members are orch admins
  ORCH_OIDC_SCOPES         space-separated [default: openid profile email]
  ORCH_OIDC_NAME_CLAIM     claim naming the orch user [default: preferred_username]
  ORCH_OIDC_REDIRECT_URL   the callback URL registered at the provider [default:
                           this gateway's /api/v1/session/oidc/callback]
  ORCH_OIDC_LABEL          the console's "Sign in with <label>" [default: issuer host]
  ORCH_OIDC_TIMEOUT_SECONDS  each call to the provider [default: 10]
Check them with: orch oidc check"""


@cli.group()
def oidc() -> None:
    """Sign-in with an OpenID provider (OpenID Connect)."""


@oidc.command("check", epilog=OIDC_HELP)
@click.option("--url", "gateway_url", default="http://127.0.0.1:8080", show_default=True,
              help="The gateway's address as browsers reach it (for the default redirect URL).")
@json_option
@handle_errors
def check(gateway_url: str, as_json: bool) -> None:
    """Fetch the provider's discovery document and keys; print what to register there."""
    settings = Settings.from_env()
    if not settings.oidc_issuer:
        fail("no OpenID provider configured: set ORCH_OIDC_ISSUER (see orch oidc check --help)")
    configure_logging(level="WARNING")  # stdout is the report (JSON with --json)
    run(_check(settings, gateway_url.rstrip("/"), as_json))


async def _check(settings: Settings, gateway_url: str, as_json: bool) -> None:
    from orch.directory.oidc import OidcSource
    from orch.gateway.oidc import CALLBACK_PATH

    source = OidcSource.from_settings(settings)
    try:
        meta = await source.provider.metadata()
        keys = await source.provider.keys()
    except DirectoryUnavailable as exc:
        fail(exc.message)
    finally:
        await source.close()
    redirect = settings.oidc_redirect_url or f"{gateway_url}{CALLBACK_PATH}"
    report = {
        "issuer": meta.issuer,
        "authorization_endpoint": meta.authorization_endpoint,
        "token_endpoint": meta.token_endpoint,
        "userinfo_endpoint": meta.userinfo_endpoint,
        "signing_keys": sorted(k.kid or "(no kid)" for k in keys.keys),
        "client_id": source.client_id,
        "confidential": settings.oidc_client_secret is not None,
        "redirect_url": redirect,
        "scopes": list(source.scopes),
        "groups_claim": source.groups_claim,
        "admin_groups": sorted(source.admin_groups),
        "label": source.label,
    }
    if as_json:
        print_json(report)
        return
    click.echo(f"provider:      {meta.issuer} (discovery and {len(keys.keys)} signing key(s) ok)")
    click.echo(f"authorize at:  {meta.authorization_endpoint}")
    click.echo(f"tokens at:     {meta.token_endpoint}")
    click.echo(f"userinfo at:   {meta.userinfo_endpoint or '(none: claims from the ID token)'}")
    click.echo(f"client:        {source.client_id} "
               f"({'confidential' if report['confidential'] else 'public, PKCE only'})")
    click.echo(f"redirect URL:  {redirect}  <- register this at the provider")
    click.echo(f"scopes:        {' '.join(source.scopes)}")
    click.echo(f"groups claim:  {source.groups_claim}")
    click.echo(f"admin groups:  {', '.join(sorted(source.admin_groups)) or '(none)'}")
    click.echo(f"console shows: Sign in with {source.label}")
