"""Monitors: activities that start a runbook and keep watching.

A runbook whose first activity is a monitor has one long-lived job; every
trigger runs the rest of the runbook as a new instance of that job, with the
trigger's data as the monitor's published data (SCO's monitor semantics).
Each monitor here is an async generator (see :mod:`orch.sdk.declare`): a
yielded value is a trigger. Each reports ``ctx.progress`` once it is armed
(its first snapshot taken, its endpoint registered), so a test or an operator
can tell "watching" from "starting".

Monitors are rerunnable: after a server loss the new owner simply watches
again (events between the loss and the takeover are not replayed).
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import msgspec

from activities import _paths
from orch.sdk import (
    ActivityError,
    Context,
    Inputs,
    Published,
    Secret,
    activity,
    compare,
    format_time,
    to_text,
)

# -- monitor_date_time ---------------------------------------------------------


class MonitorDateTimeInputs(Inputs):
    interval_seconds: float = 0.0
    """Trigger every this many seconds (the first one an interval after the start)."""
    cron: str = ""
    """Or trigger at the times of a cron expression (five fields, e.g. ``*/5 9-17 * * mon-fri``)."""
    time_zone: str = "UTC"
    """Time zone the cron expression is read in."""
    schedule: str = ""
    """Name of a schedule: triggers that fall outside it are skipped."""
    max_triggers: int = 0
    """End the monitor (and its job) after this many triggers; 0 means never."""


class DateTimeTrigger(Published):
    TriggerTime: datetime
    """When the trigger fired."""
    TriggerCount: int
    """1 for the first trigger of this monitor run, then 2, 3…"""


@activity(
    "monitor_date_time",
    display_name="Monitor Date/Time",
    category="Monitors",
    rerunnable=True,
    monitor=True,
)
async def monitor_date_time(
    ctx: Context, inputs: MonitorDateTimeInputs
) -> AsyncIterator[DateTimeTrigger]:
    """Trigger at an interval or at the times of a cron expression, optionally within a schedule."""
    times = _times(inputs)
    schedule = None
    if inputs.schedule.strip():
        schedule = await ctx.services.schedules.get(inputs.schedule.strip())
        if schedule is None:
            raise ActivityError(f"no schedule named {inputs.schedule.strip()!r}")
    if inputs.max_triggers < 0:
        raise ActivityError("property max_triggers: must be 0 or more")
    ctx.progress("watching the clock")
    count = 0
    while True:
        at = next(times)
        delay = (at - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        if schedule is not None and not schedule.contains(at):
            continue
        count += 1
        yield DateTimeTrigger(TriggerTime=at, TriggerCount=count)
        if inputs.max_triggers and count >= inputs.max_triggers:
            return


def _times(inputs: MonitorDateTimeInputs) -> Any:
    """An endless iterator of trigger times (aware, UTC)."""
    has_interval = inputs.interval_seconds > 0
    has_cron = bool(inputs.cron.strip())
    if has_interval == has_cron:
        raise ActivityError("give either interval_seconds (more than 0) or cron, not both")
    now = datetime.now(UTC)
    if has_interval:
        step = timedelta(seconds=inputs.interval_seconds)

        def every() -> Any:
            at = now
            while True:
                at += step
                yield at

        return every()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from croniter import croniter

    try:
        zone = ZoneInfo(inputs.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActivityError(f"property time_zone: unknown time zone {inputs.time_zone!r}") from None
    if not croniter.is_valid(inputs.cron.strip()):
        raise ActivityError(f"property cron: invalid cron expression {inputs.cron!r}")
    it = croniter(inputs.cron.strip(), now.astimezone(zone))
    return (it.get_next(datetime).astimezone(UTC) for _ in iter(int, 1))


# -- monitor_file ---------------------------------------------------------------

FileEvent = Literal["created", "modified", "deleted"]


class MonitorFileInputs(Inputs):
    folder: str
    """Absolute path of the folder to watch."""
    pattern: str = "*"
    """File names to watch (``fnmatch`` pattern, e.g. ``*.csv``)."""
    recursive: bool = False
    """Watch sub-folders too."""
    events: list[FileEvent] = msgspec.field(
        default_factory=lambda: ["created", "modified", "deleted"]
    )
    """Which changes trigger."""
    poll_seconds: float = 1.0
    """How often the folder is scanned."""


class FileChange(Published):
    Event: str
    """created, modified or deleted."""
    Path: str
    """Full path of the file."""
    Name: str
    """File name."""
    Size: int
    """Size in bytes (0 when deleted)."""
    ModifiedTime: str
    """Last modification time (RFC 3339; empty when deleted)."""


Snapshot = dict[str, tuple[int, int]]


@activity(
    "monitor_file",
    display_name="Monitor File",
    category="Monitors",
    rerunnable=True,
    monitor=True,
)
async def monitor_file(ctx: Context, inputs: MonitorFileInputs) -> AsyncIterator[FileChange]:
    """Trigger once per file created, modified or deleted under a folder (by polling)."""
    folder = _paths.resolve(inputs.folder, "folder")
    if not inputs.poll_seconds > 0:
        raise ActivityError("property poll_seconds: must be more than 0")
    if not inputs.events:
        raise ActivityError("property events: name at least one of created, modified, deleted")
    wanted = set(inputs.events)
    before = await asyncio.to_thread(_scan, folder, inputs.pattern, inputs.recursive)
    ctx.progress(f"watching {folder} ({len(before)} files)")
    while True:
        await asyncio.sleep(inputs.poll_seconds)
        after = await asyncio.to_thread(_scan, folder, inputs.pattern, inputs.recursive)
        for change in _changes(before, after):
            if change.Event in wanted:
                yield change
        before = after


def _scan(folder: Path, pattern: str, recursive: bool) -> Snapshot:
    if not folder.is_dir():
        raise ActivityError(f"property folder: {folder} is not a folder")
    out: Snapshot = {}
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            continue  # removed while scanning
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(entry.path)
                    continue
                if not fnmatch.fnmatch(entry.name, pattern):
                    continue
                st = entry.stat()
            except FileNotFoundError:
                continue
            out[entry.path] = (st.st_mtime_ns, st.st_size)
    return out


def _changes(before: Snapshot, after: Snapshot) -> list[FileChange]:
    out: list[FileChange] = []
    for path in sorted(after):
        mtime, size = after[path]
        if path not in before:
            out.append(_change("created", path, mtime, size))
        elif before[path] != after[path]:
            out.append(_change("modified", path, mtime, size))
    for path in sorted(set(before) - set(after)):
        out.append(FileChange(Event="deleted", Path=path, Name=Path(path).name, Size=0,
                              ModifiedTime=""))  # fmt: skip
    return out


def _change(event: str, path: str, mtime_ns: int, size: int) -> FileChange:
    at = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
    return FileChange(Event=event, Path=path, Name=Path(path).name, Size=size,
                      ModifiedTime=format_time(at))  # fmt: skip


# -- monitor_counter --------------------------------------------------------------


class MonitorCounterInputs(Inputs):
    counter: str
    """Name of the counter to watch."""
    value: int
    """The threshold."""
    op: Literal["equals", "not_equals", "lt", "le", "gt", "ge"] = "ge"
    """How the counter's value is compared with ``value``."""
    poll_seconds: float = 1.0
    """How often the counter is read."""


class CounterReached(Published):
    Counter: str
    """The counter's name."""
    Value: int
    """Its value when the condition became true."""


@activity(
    "monitor_counter",
    display_name="Monitor Counter",
    category="Monitors",
    rerunnable=True,
    monitor=True,
)
async def monitor_counter(
    ctx: Context, inputs: MonitorCounterInputs
) -> AsyncIterator[CounterReached]:
    """Trigger when the counter's value meets the condition (again after it stopped meeting it).

    A counter that does not exist yet counts as not meeting it.
    """
    name = inputs.counter.strip()
    if not name:
        raise ActivityError("property counter: a counter name is required")
    if not inputs.poll_seconds > 0:
        raise ActivityError("property poll_seconds: must be more than 0")
    counters = ctx.services.counters
    armed = True
    ctx.progress(f"watching counter {name}")
    while True:
        found = await counters.get(name)
        met = found is not None and compare(str(found.value), inputs.op, str(inputs.value))
        if met and armed and found is not None:
            armed = False
            yield CounterReached(Counter=name, Value=found.value)
        elif not met:
            armed = True
        await asyncio.sleep(inputs.poll_seconds)


# -- monitor_webhook -----------------------------------------------------------------

WEBHOOK_FIELDS = frozenset({"Body", "ReceivedAt", "RequestId"})
MIN_TOKEN = 16


class MonitorWebhookInputs(Inputs):
    token: Secret
    """The token callers send (``Authorization: Bearer <token>``) to
    ``POST /api/v1/hooks/{runbook_id}``; at least 16 characters, e.g. ``{variable:HookToken}``."""
    fields: list[str] = []
    """Top-level keys of the JSON body to publish as fields of their own (missing keys: empty)."""


def _webhook_fields(props: Mapping[str, Any]) -> frozenset[str] | None:
    fields = props.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return None
    return WEBHOOK_FIELDS | frozenset(fields)


@activity(
    "monitor_webhook",
    display_name="Monitor Webhook",
    category="Monitors",
    rerunnable=True,
    monitor=True,
    dynamic_fields=_webhook_fields,
)
async def monitor_webhook(
    ctx: Context, inputs: MonitorWebhookInputs
) -> AsyncIterator[dict[str, str]]:
    """Trigger once per JSON request to the gateway's ``/api/v1/hooks/{runbook_id}``.

    Publishes ``Body`` (the JSON text), ``ReceivedAt``, ``RequestId`` and each
    key named in ``fields``.
    """
    if len(inputs.token) < MIN_TOKEN:
        raise ActivityError(f"property token: must be at least {MIN_TOKEN} characters")
    for name in inputs.fields:
        if name in WEBHOOK_FIELDS or not name.isidentifier():
            raise ActivityError(f"property fields: {name!r} cannot be a published field name")
    runbook_id = ctx.info.runbook_id
    if not runbook_id:
        raise ActivityError("monitor_webhook needs a checked-in runbook (its id is the endpoint)")
    requests = ctx.services.webhooks.receive(
        runbook_id,
        inputs.token,
        ready=lambda: ctx.progress(f"listening on /api/v1/hooks/{runbook_id}"),
    )
    try:
        async for request in requests:
            item = {
                "Body": msgspec.json.encode(request.body).decode(),
                "ReceivedAt": format_time(request.received_at),
                "RequestId": request.id,
            }
            body = request.body if isinstance(request.body, dict) else {}
            for name in inputs.fields:
                item[name] = to_text(body.get(name))
            yield item
    finally:
        await requests.aclose()  # type: ignore[attr-defined]
