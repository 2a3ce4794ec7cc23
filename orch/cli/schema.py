"""``orch runbook schema`` — the ``orch.runbook/1`` JSON Schema, for editors.

Made here from the packs installed in this environment (the gateway's
``GET /api/v1/schemas/runbook.json`` also knows the types registered for packs
installed only on runbook servers). Point an editor at the file (VS Code:
``"json.schemas"`` in settings), or at the gateway's URL.
"""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from orch.cli.runbook import runbook


def _types() -> list:
    from orch.document.jsonschema import TypeSchema
    from orch.sdk.registry import default_registry
    from orch.sdk.schema import input_schema

    registry = default_registry()
    return [
        TypeSchema(qualified_name=t.qualified_name, name=t.name,
                   plain_ok=registry.get(t.name) is t, display_name=t.display_name,
                   description=t.description, input_schema=input_schema(t))
        for t in registry
    ]  # fmt: skip


@runbook.command("schema")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the schema to this file instead of printing it.")
@click.option("--id", "schema_id", metavar="URL", help="The schema's $id (where it is served).")
def schema(output: str | None, schema_id: str | None) -> None:
    """Print the orch.runbook/1 JSON Schema (draft 2020-12) with a rule per activity type."""
    from orch.document.jsonschema import runbook_schema

    text = msgspec.json.format(msgspec.json.encode(runbook_schema(_types(), schema_id=schema_id)))
    if output is None:
        click.echo(text.decode())
        return
    try:
        Path(output).write_bytes(text + b"\n")
    except OSError as e:
        raise click.ClickException(f"cannot write {output}: {e.strerror or e}") from None
    click.echo(f"wrote {output}")
