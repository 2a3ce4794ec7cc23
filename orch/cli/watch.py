"""``orch job watch ID`` and ``orch runbook watch PATH``: the live feed in the terminal.

One line per event, as it happens, with its status coloured: the job's and
its instance's state changes and every activity run starting and ending.
A dropped connection is resumed where it stopped (nothing missed, nothing
twice). ``job watch`` replays the job from its start and ends with it (exit
status as ``job start --wait``: 0 success, 2 warning, 1 otherwise);
``runbook watch`` follows every job of the runbook until Ctrl-C.
"""

from __future__ import annotations

import sys

import click
import msgspec

from orch.api import FINISHED_JOB_STATUSES
from orch.api.live import LiveEvent
from orch.cli.job import EXIT_CODES, job
from orch.cli.output import handle_errors, json_option, run, status_text
from orch.cli.remote import Remote, remote_options
from orch.cli.runbook import runbook
from orch.live import follow


def event_line(event: LiveEvent, *, with_job: bool = False) -> str:
    """``#1234 12:00:01.250 activity greet  success``."""
    when = event.at.astimezone().strftime("%H:%M:%S.%f")[:-3]
    if event.kind == "activity":
        what = f"activity {event.activity or '?'}"
    elif event.kind == "instance":
        what = f"instance {(event.instance_id or '')[:8]}"
    else:
        what = f"job {(event.job_id or '')[:8]}" if with_job else "job"
    if with_job and event.kind != "job":
        what = f"job {(event.job_id or '')[:8]} {what}"
    line = f"#{event.seq} {when} {what:<28} {status_text(event.status or '-')}"
    if event.server and event.kind in ("job", "instance") and event.status == "running":
        line += f" on {event.server}"
    if event.error:
        line += f"  {event.error}"
    return line


def _print(event: LiveEvent, as_json: bool, with_job: bool) -> None:
    if as_json:
        click.echo(msgspec.json.encode(event).decode())
    else:
        click.echo(event_line(event, with_job=with_job))


async def _watch_job(remote: Remote, job_id: str, after: int, as_json: bool) -> str:
    async with remote.client() as client:
        await client.get_job(job_id)  # an unknown job is one clear error, not a silent wait
        async for event in follow(client, job=job_id, after=after):
            _print(event, as_json, with_job=False)
            if event.kind == "job" and event.status in FINISHED_JOB_STATUSES:
                return event.status
    return "failed"


async def _watch_runbook(remote: Remote, path: str, after: int | None, as_json: bool) -> None:
    async with remote.client() as client:
        async for event in follow(client, runbook=path, after=after):
            _print(event, as_json, with_job=True)


@job.command("watch")
@click.argument("job_id", metavar="ID")
@click.option("--after", type=click.IntRange(0), default=0, show_default=True,
              help="Replay the events after this sequence number first.")
@remote_options
@json_option
@handle_errors
def watch_job(job_id: str, after: int, remote: Remote, as_json: bool) -> None:
    """Follow job ID live until it ends: one line per event."""
    status = run(_watch_job(remote, job_id, after, as_json))
    sys.exit(EXIT_CODES.get(status, 1))


@runbook.command("watch")
@click.argument("path")
@click.option("--after", type=click.IntRange(0), default=None,
              help="Replay the events after this sequence number first (default: from now).")
@remote_options
@json_option
@handle_errors
def watch_runbook(path: str, after: int | None, remote: Remote, as_json: bool) -> None:
    """Follow every job of the runbook at PATH (or with that id) live, until Ctrl-C."""
    run(_watch_runbook(remote, path, after, as_json))
