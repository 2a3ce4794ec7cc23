"""``orch runbook …`` — author-side verbs (validate, check-in, list …)."""

from __future__ import annotations

from orch.cli.main import cli


@cli.group()
def runbook() -> None:
    """Validate, check in and list runbooks."""
