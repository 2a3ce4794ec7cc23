"""The activity-type catalogue and the designer's outline of a draft document."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from orch.api.base import Cursor, Query, Response

Schema = Annotated[dict[str, Any], msgspec.Meta(description="A JSON Schema (draft 2020-12).")]


class ActivityTypeInfo(Response, kw_only=True):
    """One activity type: what the designer's palette and properties panel show."""

    type: str
    """The qualified name ``pack:name`` (a document may use the plain ``name`` when
    ``plain_name`` is true)."""
    name: str
    pack: str
    plain_name: bool
    """Whether ``name`` alone selects this type (``core`` wins a clash of names)."""
    display_name: str
    category: str
    description: str
    rerunnable: bool
    monitor: bool
    multi_valued: bool
    installed_on_gateway: bool
    """False: known only from its registration (``orch ip install`` on a runbook server)."""
    input_schema: Schema
    """The ``properties`` an activity of this type takes."""
    output_schema: Schema
    """One published item: its own fields (``x-orch-dynamic``: they depend on the
    properties; ``POST /runbooks/outline`` names them for a document)."""


class ActivityTypeList(Response, kw_only=True):
    items: list[ActivityTypeInfo]
    next: str | None


class ListActivityTypesQuery(Query, kw_only=True):
    category: str | None = None
    """Only the types of this category (exact)."""
    cursor: Cursor | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000, description="Page size.")] = 1000


class OutlineActivity(Response, kw_only=True):
    id: str
    type: str
    """The type as the document names it."""
    known_type: str | None
    """The qualified type it resolves to (null: no such type)."""
    fields: list[str] | None
    """Fields it publishes, the common ones included (null: not knowable from the
    document, e.g. an unknown type)."""
    upstream: list[str]
    """Activities whose data its properties may reference (every ancestor), in document
    order (empty when the graph is broken)."""


class RunbookOutline(Response, kw_only=True):
    """What a draft document's activities publish and may reference."""

    activities: list[OutlineActivity]
    parameters: list[str]
    """The runbook's parameters (its ``initialize_data`` activity's)."""
    runbook_fields: list[str]
    """The fields of ``{runbook.X}``."""
