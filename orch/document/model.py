"""The ``orch.runbook/1`` document as msgspec Structs.

Decoding rejects unknown keys, wrong types and missing fields with the JSON
path of the fault (``msgspec.ValidationError`` carries it, e.g.
``Expected `str`, got `int` - at `$.activities[0].id```). What the types
cannot say (graph rules, references, operators' operands) is checked by
``orch.document.validate``.

Values in a runbook are text (as in SCO). Where a document author naturally
writes a number or a boolean (a parameter default, a condition operand), the
type accepts it and ``as_text`` turns it into the canonical text form.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from orch.document.paths import normalize_path

FORMAT = "orch.runbook/1"

ParameterType = Literal["string", "integer", "boolean", "datetime"]
Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "matches",
    "not_matches",
    "lt",
    "le",
    "gt",
    "ge",
    "between",
]
OPERATORS: tuple[str, ...] = Operator.__args__  # type: ignore[attr-defined]

Scalar = str | int | float | bool


class DocStruct(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for every document part: keyword-only, unknown keys rejected."""


class Parameter(DocStruct, kw_only=True):
    name: str
    type: ParameterType = "string"
    default: Scalar | None = None
    description: str = ""
    required: bool | None = None
    """Required when it has no default, unless set explicitly."""


class ReturnSpec(DocStruct, kw_only=True):
    name: str
    type: ParameterType = "string"
    description: str = ""


class Condition(DocStruct, kw_only=True):
    data: str
    """A published field of the link's source activity (``Status``, ``ExitCode``...)."""
    op: Operator
    value: Scalar | list[Scalar]
    """Text to compare with; ``between`` takes ``[low, high]``."""


class Flatten(DocStruct, kw_only=True):
    separator: str = ","


class Loop(DocStruct, kw_only=True):
    until: list[Condition]
    delay_seconds: float = 0
    max_attempts: int | None = None
    """None: no limit (the ``until`` conditions end the loop)."""


class Point(DocStruct, kw_only=True):
    """Where the designer draws an activity's box: its top-left corner, in canvas units.

    Layout only: it never changes what a runbook does. Documents without it are
    laid out automatically (the console's graph); the designer and the SCO
    import write it.
    """

    x: float
    y: float


class Activity(DocStruct, kw_only=True):
    id: str
    type: str
    name: str | None = None
    description: str = ""
    properties: dict[str, Any] = {}
    flatten: Flatten | None = None
    loop: Loop | None = None
    timeout_seconds: float | None = None
    position: Point | None = None
    """The designer's position of the box (None: laid out automatically)."""
    enabled: bool = True
    """False: the activity never runs; links into it are not followed (a dead path)."""


class Link(DocStruct, kw_only=True, rename={"from_": "from"}):
    from_: str
    to: str
    name: str | None = None
    include: list[Condition] | None = None
    """None: the default ``Status equals success``; ``[]``: follow whatever the status."""
    exclude: list[Condition] = []
    delay_seconds: float = 0
    enabled: bool = True
    """False: the link is never followed (its target sees a dead branch)."""


Outcome = Literal["success", "warning", "failed"]
ExpectedRun = Literal["success", "warning", "failed", "not_run"]


class Expectation(DocStruct, kw_only=True):
    """What a test case expects; each part is checked only when given."""

    status: Outcome | None = None
    """The instance's outcome."""
    returned_data: dict[str, Scalar] | None = None
    """Declared returns and their expected text (names not listed are not checked)."""
    activities: dict[str, ExpectedRun] = {}
    """Activity id → the status of every one of its runs, or ``not_run``."""


class RunbookTest(DocStruct, kw_only=True):
    """A test case kept with the runbook: parameters in, expectations out (``orch test``)."""

    name: str
    description: str = ""
    parameters: dict[str, Scalar] = {}
    expect: Expectation = msgspec.field(default_factory=Expectation)


# -- runbook properties (issue 14): each optional, absent means "as before" ---------

Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]


class ScheduleGate(DocStruct, kw_only=True):
    """Run only inside a named schedule's windows (``PUT /api/v1/schedules/{name}``)."""

    name: Annotated[str, msgspec.Meta(min_length=1)]
    outside: Literal["wait", "refuse"] = "wait"
    """A job started outside: ``wait`` queued for the next window, or ``refuse`` (409)."""


class Logging(DocStruct, kw_only=True):
    """What the database keeps of an instance's published data once it ends."""

    store_published_data: bool = True
    """The activity-specific fields (``Output``, ``ExitCode``…)."""
    store_common_data: bool = True
    """The common fields (``Status``, ``StartTime``, ``EndTime``, ``ErrorSummary``,
    ``ActivityName``)."""


class Notifications(DocStruct, kw_only=True):
    """Events of kind ``notification`` (and email/webhook delivery when configured)."""

    runs_longer_than_seconds: Positive | None = None
    on_failure_to_run: bool = False
    """No eligible server for ``failure_to_run_seconds``, or the job failed to start."""
    failure_to_run_seconds: Positive = 60


class Retry(DocStruct, kw_only=True):
    """Failed jobs run again as new instances of the same job, after a back-off."""

    max_retries: Annotated[int, msgspec.Meta(ge=0)] = 0
    backoff_seconds: NonNegative = 0
    """The wait before the first retry."""
    backoff_factor: Annotated[float, msgspec.Meta(ge=1)] = 1
    """Each further wait is the previous one times this."""


class Runbook(DocStruct, kw_only=True):
    format: Literal["orch.runbook/1"]
    name: str
    folder: str = "/"
    description: str = ""
    max_concurrent_jobs: int = 0
    returns: list[ReturnSpec] = []
    activities: list[Activity]
    links: list[Link] = []
    tests: list[RunbookTest] = []
    """Test cases run by ``orch test`` (never by a runbook server)."""
    schedule: ScheduleGate | None = None
    logging: Logging | None = None
    notifications: Notifications | None = None
    job_timeout_seconds: Positive | None = None
    """A job still running this long (per instance) is stopped and recorded failed: timeout."""
    retry: Retry | None = None
    metadata: dict[str, str] = {}
    """Text labels kept with the document, never read by the runtime (the SCO import
    records ``sco.unique_id`` and ``sco.path`` here)."""

    @property
    def path(self) -> str:
        return join_path(self.folder, self.name)


DEFAULT_INCLUDE: tuple[Condition, ...] = (Condition(data="Status", op="equals", value="success"),)


def as_text(value: Scalar | None) -> str:
    """Canonical text of a scalar: decimal integers, ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalize_folder(folder: str) -> str:
    """``Ops/Services/`` → ``/Ops/Services``; ``""`` → ``/``; ``/a/../b`` or ``/a//b``: BadPath.

    :func:`orch.document.paths.normalize_path`, the one spelling of paths.
    """
    return normalize_path(folder)


def join_path(folder: str, name: str) -> str:
    folder = normalize_folder(folder)
    return f"{folder}/{name}" if folder != "/" else f"/{name}"


_decoder = msgspec.json.Decoder(Runbook)


SCHEMA_KEY = "$schema"
"""A top-level ``"$schema"`` (where an editor finds the JSON Schema) is accepted and
ignored: it is not part of the runbook, so it is not kept in what is stored."""


def decode(data: bytes | str) -> Runbook:
    """Decode JSON text into a Runbook; raises ``msgspec.ValidationError``/``DecodeError``."""
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError:
        obj = msgspec.json.decode(data)
        if isinstance(obj, dict) and SCHEMA_KEY in obj:
            return convert(obj)
        raise


def convert(obj: Any) -> Runbook:
    """Convert already-parsed JSON (dicts and lists) into a Runbook."""
    if isinstance(obj, dict) and SCHEMA_KEY in obj:
        obj = {k: v for k, v in obj.items() if k != SCHEMA_KEY}
    return msgspec.convert(obj, Runbook)


def encode(runbook: Runbook) -> bytes:
    return msgspec.json.encode(runbook)
