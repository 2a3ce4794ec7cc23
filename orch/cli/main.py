"""``orch`` — the command-line entry point; each verb group lives in its own module."""

from __future__ import annotations

import click

from orch import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orch")
def cli() -> None:
    """orch — runbook automation on PostgreSQL."""


def _register() -> None:
    # Each module adds its commands to `cli`; listed here so the set is explicit.
    from orch.cli import runbook  # noqa: F401
    from orch.cli import db  # noqa: F401


def main() -> None:
    _register()
    cli()
