"""``orch`` — the command-line entry point; each verb group lives in its own module."""

from __future__ import annotations

import importlib

import click

from orch import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orch")
def cli() -> None:
    """orch — runbook automation on PostgreSQL."""


# Each module adds its commands to `cli`; listed here so the set is explicit (one line each).
COMMAND_MODULES = (
    "orch.cli.checkin",
    "orch.cli.db",
    "orch.cli.deploy",
    "orch.cli.diff",
    "orch.cli.gateway",
    "orch.cli.job",
    "orch.cli.ldap",
    "orch.cli.oidc",
    "orch.cli.packs",
    "orch.cli.properties",
    "orch.cli.purge",
    "orch.cli.runbook",
    "orch.cli.schema",
    "orch.cli.sco",
    "orch.cli.security",
    "orch.cli.server",
    "orch.cli.servers",
    "orch.cli.tester",
    "orch.cli.transfer",
    "orch.cli.up",
    "orch.cli.watch",
)


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def main() -> None:
    _register()
    cli()
