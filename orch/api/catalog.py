"""The activity-type catalogue and the designer's outline of a draft document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from orch.api.base import Cursor, Id, Query, Request, Response

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


# -- test runs in the designer (the in-memory tester, server-side) ------------------------

TestCommandName = Literal["continue", "step", "skip", "quit"]


class StartTestRun(Request, kw_only=True):
    """Run a draft document with the in-memory tester: no job, no database writes."""

    document: dict[str, Any]
    """The ``orch.runbook/1`` document (the designer's draft)."""
    parameters: dict[str, str | int | float | bool] = {}
    breakpoints: list[str] = []
    """Activity ids to pause before (``--break``)."""
    step: bool = False
    """Pause before every run (``--step``)."""
    variables: dict[str, str] = {}
    """Values of ``{variable:Name}`` for this run (the database's are never read)."""


class TestCommand(Request, kw_only=True):
    command: TestCommandName
    """At a pause: ``continue`` (to the next break point), ``step``, ``skip`` (the path
    below is dead), ``quit`` (also while running: every instance stops)."""


class TestPause(Response, kw_only=True):
    activity: str
    name: str
    run_id: str
    why: Literal["step", "break"]


class TestRunState(Response, kw_only=True):
    id: Id
    runbook: str
    """The draft's path."""
    state: Literal["running", "paused", "finished"]
    paused: TestPause | None
    """Where it waits for a command (``state`` = ``paused``)."""
    status: str | None
    """The outcome once finished: ``success``, ``warning``, ``failed`` or ``stopped``."""
    returned_data: dict[str, str]
    error: str | None
    events: list[Any]
    """Tester events after ``after`` (the shapes ``orch test --json`` prints, tagged
    ``event``: ``activity-started``, ``activity-ended``, ``link``, ``paused``…)."""
    next: int
    """Pass as ``after`` to read only newer events."""


class TestRunQuery(Query, kw_only=True):
    after: Annotated[int, msgspec.Meta(ge=0)] = 0
    wait: Annotated[float, msgspec.Meta(ge=0, le=30)] = 0
    """Seconds to wait for a newer event or a change of state (long poll)."""
