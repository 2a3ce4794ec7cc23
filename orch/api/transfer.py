"""Bodies of the batch import: many runbook documents checked in as one transaction."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from orch.api.base import Id, Request, Response

DocumentBody = Annotated[
    dict[str, Any],
    msgspec.Meta(description="An `orch.runbook/1` document (see the `Runbook` schema)."),
]


class ImportRunbooks(Request, kw_only=True):
    """Documents to check in all together, or not at all."""

    documents: list[DocumentBody]
    comment: str = ""
    """The check-in comment recorded with every new version."""
    dry_run: bool = False
    """Validate and work out what would change (conflicts included), then write nothing."""


class ImportedRunbook(Response, kw_only=True):
    id: Id
    path: str
    version: int
    hash: str
    action: Literal["created", "updated", "unchanged"]
    """``created``: a new runbook; ``updated``: a new version; ``unchanged``: the
    document is the current version already, nothing was written."""


class ImportResult(Response, kw_only=True):
    items: list[ImportedRunbook]
    """One per document, in the order given."""
    dry_run: bool
    """True: nothing was written (the ids of runbooks it would create are not kept)."""
