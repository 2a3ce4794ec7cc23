"""``orch job start|stop|show``: run runbooks and read their results from the terminal.

``start --wait`` follows the job on the live feed: one line per activity run
as it starts and finishes (with its published data), then the returned data. Exit status:
0 success, 2 warning, 1 anything else (DESIGN's CLI contract).
"""

from __future__ import annotations

import sys

import click
import msgspec

from orch.api import FINISHED_JOB_STATUSES, ActivityRun, Instance, Job
from orch.cli.main import cli
from orch.cli.output import (
    fail,
    fields_text,
    handle_errors,
    json_option,
    print_json,
    run,
    status_text,
)
from orch.cli.remote import Remote, remote_options
from orch.client import ApiError, Client
from orch.live import follow

EXIT_CODES = {"success": 0, "warning": 2}


class JobView(msgspec.Struct, kw_only=True):
    """``orch job show --json``: the job and its latest instance."""

    job: Job
    instance: Instance | None


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--param wants NAME=VALUE, got {pair!r}")
        params[name] = value
    return params


def job_line(job: Job) -> str:
    return f"job {job.id} {status_text(job.status)} ({job.runbook_path} v{job.runbook_version})"


def run_line(run_: ActivityRun) -> str:
    parts = [f"  {run_.activity:<16} {status_text(run_.status)}"]
    if run_.status != "running":
        for item in run_.published:
            text = fields_text(item)
            if text:
                parts.append(f"    {text}")
    if run_.error:
        parts.append(f"    error: {run_.error}")
    return "\n".join(parts)


def print_result(job: Job) -> None:
    click.echo(job_line(job))
    if job.returned_data:
        click.echo(f"returned: {fields_text(job.returned_data, skip_common=False)}")


async def _follow(client: Client, job: Job, *, quiet: bool) -> Job:
    """Print activity runs as they start and end; the finished job.

    Driven by the live feed; a gateway without it is polled instead.
    """
    try:
        return await _follow_live(client, job, quiet=quiet)
    except ApiError as e:
        if e.status != 404:
            raise
    return await _follow_polling(client, job, quiet=quiet)


async def _follow_live(client: Client, job: Job, *, quiet: bool) -> Job:
    last_status = job.status
    async for event in follow(client, job=job.id, after=0):
        if event.kind == "job" and event.status is not None:
            if event.status in FINISHED_JOB_STATUSES:
                break
            if not quiet and event.status != last_status:
                click.echo(job_line(msgspec.structs.replace(job, status=event.status)))
            last_status = event.status
        elif event.kind == "activity" and not quiet:
            if event.status == "running":
                click.echo(f"  {event.activity or '?':<16} {status_text('running')}")
            elif event.instance_id is not None:
                instance = await client.get_instance(event.instance_id)
                for r in instance.activity_runs:
                    if r.run_id == event.run_id:
                        click.echo(run_line(r))
    return await client.get_job(job.id)


async def _follow_polling(client: Client, job: Job, *, quiet: bool) -> Job:
    seen: dict[str, str] = {}
    last_status = job.status
    async for current, instance in client.watch_job(job.id):
        job = current
        if not quiet and job.status != last_status and job.status not in ("success", "warning",
                                                                          "failed", "stopped"):
            click.echo(job_line(job))
        last_status = job.status
        if instance is None or quiet:
            continue
        for r in instance.activity_runs:
            if seen.get(r.run_id) != r.status:
                seen[r.run_id] = r.status
                click.echo(run_line(r))
    return job


async def _start(remote: Remote, runbook: str, params: dict[str, str], server: str | None,
                 priority: int, wait: bool, as_json: bool, started: list[str]) -> Job:
    async with remote.client() as client:
        job = await client.start_job(runbook, params, server=server, priority=priority)
        started.append(job.id)
        if not as_json:
            click.echo(job_line(job))
        if wait:
            job = await _follow(client, job, quiet=as_json)
        return job


@cli.group()
def job() -> None:
    """Start, stop and show jobs."""


@job.command("start")
@click.argument("runbook")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the runbook's start activity (repeatable).")
@click.option("--server", default=None, help="Run on this runbook server only.")
@click.option("--priority", type=int, default=0, show_default=True,
              help="Claimed before queued jobs of lower priority.")
@click.option("--wait", is_flag=True,
              help="Follow the job to its end; exit 0 success, 2 warning, 1 otherwise.")
@remote_options
@json_option
@handle_errors
def start(runbook: str, params: tuple[str, ...], server: str | None, priority: int, wait: bool,
          remote: Remote, as_json: bool) -> None:
    """Start a job of RUNBOOK (a path such as /Examples/Hello, or an id)."""
    parameters = parse_params(params)
    started: list[str] = []
    try:
        job = run(_start(remote, runbook, parameters, server, priority, wait, as_json, started))
    except KeyboardInterrupt:
        if started:
            click.echo(f"stopped waiting; job {started[0]} goes on "
                       f"(`orch job stop {started[0]}` stops it)", err=True)
        sys.exit(130)
    if as_json:
        print_json(job)
    elif wait:
        print_result(job)
    if wait:
        sys.exit(EXIT_CODES.get(job.status, 1))


async def _stop(remote: Remote, job_id: str, wait: bool) -> Job:
    async with remote.client() as client:
        job = await client.stop_job(job_id)
        if wait:
            job = await client.wait_job(job.id)
        return job


@job.command("stop")
@click.argument("job_id", metavar="ID")
@click.option("--wait", is_flag=True, help="Wait until the job has stopped.")
@remote_options
@json_option
@handle_errors
def stop(job_id: str, wait: bool, remote: Remote, as_json: bool) -> None:
    """Ask job ID to stop (its running activities are cancelled and recorded)."""
    job = run(_stop(remote, job_id, wait))
    if as_json:
        print_json(job)
    elif wait:
        click.echo(job_line(job))
    else:
        click.echo(f"stop requested: {job_line(job)}")


async def _show(remote: Remote, job_id: str) -> JobView:
    async with remote.client() as client:
        job = await client.get_job(job_id)
        instance = None
        if job.instance_id is not None:
            instance = await client.get_instance(job.instance_id)
        return JobView(job=job, instance=instance)


@job.command("show")
@click.argument("job_id", metavar="ID")
@remote_options
@json_option
@handle_errors
def show(job_id: str, remote: Remote, as_json: bool) -> None:
    """Show job ID: status, parameters, every activity run, returned data."""
    view = run(_show(remote, job_id))
    if as_json:
        print_json(view)
        return
    job = view.job
    click.echo(job_line(job))
    if job.parameters:
        click.echo(f"parameters: {fields_text(job.parameters, skip_common=False)}")
    when = job.created_at.isoformat(timespec="seconds")
    ended = job.ended_at.isoformat(timespec="seconds") if job.ended_at else "-"
    click.echo(f"created {when}  ended {ended}  server {job.server or '-'}")
    if job.waiting_reason:
        click.echo(f"waiting: {job.waiting_reason}")
    if view.instance is not None:
        click.echo(f"instance {view.instance.id} {status_text(view.instance.status)}")
        for r in view.instance.activity_runs:
            click.echo(run_line(r))
    if job.returned_data:
        click.echo(f"returned: {fields_text(job.returned_data, skip_common=False)}")
