"""Failover verbs, all through the gateway.

- ``orch runbook servers PATH [SERVER...]``: show, or set (primary first, then
  standbys), the servers of the runbook or folder at PATH; ``--clear`` removes
  its own list (it then inherits from the folders above, else any server).
- ``orch server drain NAME``: stop claiming, finish within the grace period,
  hand the rest over; the server then stays in maintenance.
- ``orch server maintenance NAME on|off``.
- ``orch job resume ID``: resume a failed job's instance from its failed activities.
"""

from __future__ import annotations

import sys

import click

from orch.api import Job
from orch.api.failover import FolderServers, RunbookServers
from orch.api.operations import Server
from orch.cli.job import EXIT_CODES, job, job_line
from orch.cli.output import fail, handle_errors, json_option, print_json, run, status_text
from orch.cli.remote import Remote, remote_options
from orch.cli.runbook import runbook
from orch.cli.server import server
from orch.document.model import normalize_folder

Assignment = RunbookServers | FolderServers


def _assignment_text(a: Assignment) -> str:
    kind = "runbook" if isinstance(a, RunbookServers) else "folder"
    lines = [f"{kind} {a.path}"]
    if a.effective:
        primary, *standbys = a.effective
        lines.append(f"  primary  {primary}")
        lines.extend(f"  standby  {s}" for s in standbys)
        lines.append(f"  (from {a.inherited_from})" if a.inherited_from else "  (its own)")
    else:
        lines.append("  any server (no assignment)")
    return "\n".join(lines)


async def _servers(remote: Remote, path: str, names: list[str] | None,
                   folder: bool) -> Assignment:
    async with remote.client() as client:
        if not folder:
            found = await client.find_runbook(path)
            if found is not None:
                if names is None:
                    return await client.runbook_servers(found.id)
                return await client.set_runbook_servers(found.id, names)
        target = await client.find_folder(normalize_folder(path))
        if target is None:
            fail(f"no {'folder' if folder else 'runbook or folder'} at {path}")
        if names is None:
            return await client.folder_servers(target.id)
        return await client.set_folder_servers(target.id, names)


@runbook.command("servers")
@click.argument("path")
@click.argument("names", nargs=-1, metavar="[PRIMARY [STANDBY...]]")
@click.option("--folder", is_flag=True, help="PATH is a folder (even if a runbook has it).")
@click.option("--clear", is_flag=True, help="Remove the list of its own.")
@remote_options
@json_option
@handle_errors
def servers_cmd(path: str, names: tuple[str, ...], folder: bool, clear: bool, remote: Remote,
                as_json: bool) -> None:
    """Show or set the runbook servers of the runbook or folder at PATH.

    Primary first, then standbys in order; a standby runs the jobs only while
    every server before it is unavailable. A folder's list holds for every
    runbook below it without its own.
    """
    if clear and names:
        fail("--clear takes no server names")
    wanted = [] if clear else (list(names) if names else None)
    result = run(_servers(remote, path, wanted, folder))
    if as_json:
        print_json(result)
    else:
        click.echo(_assignment_text(result))


def _server_line(s: Server) -> str:
    return (f"server {s.name} {status_text(s.status)} "
            f"(running {s.running}/{s.capacity}, heartbeat {s.heartbeat_age_seconds:.1f} s ago)")


async def _drain(remote: Remote, name: str) -> Server:
    async with remote.client() as client:
        return await client.drain_server(name)


@server.command("drain")
@click.argument("name")
@remote_options
@json_option
@handle_errors
def drain(name: str, remote: Remote, as_json: bool) -> None:
    """Drain server NAME: it stops claiming, lets its instances finish within its
    grace period, hands the rest over (resumed elsewhere), then stays in maintenance."""
    result = run(_drain(remote, name))
    if as_json:
        print_json(result)
    else:
        click.echo(_server_line(result))


async def _maintenance(remote: Remote, name: str, on: bool) -> Server:
    async with remote.client() as client:
        return await client.set_server_maintenance(name, on)


@server.command("maintenance")
@click.argument("name")
@click.argument("state", type=click.Choice(["on", "off"]))
@remote_options
@json_option
@handle_errors
def maintenance(name: str, state: str, remote: Remote, as_json: bool) -> None:
    """Maintenance of server NAME: on — registered but claiming nothing (kept
    across restarts); off — claiming again."""
    result = run(_maintenance(remote, name, state == "on"))
    if as_json:
        print_json(result)
    else:
        click.echo(_server_line(result))


async def _resume(remote: Remote, job_id: str, wait: bool) -> Job:
    async with remote.client() as client:
        current = await client.get_job(job_id)
        if current.instance_id is None:
            fail(f"job {job_id} has no instance to resume (it is {current.status})")
        resumed = await client.resume_instance(current.instance_id)
        if wait:
            resumed = await client.wait_job(resumed.id)
        return resumed


@job.command("resume")
@click.argument("job_id", metavar="ID")
@click.option("--wait", is_flag=True,
              help="Follow the job to its end; exit 0 success, 2 warning, 1 otherwise.")
@remote_options
@json_option
@handle_errors
def resume(job_id: str, wait: bool, remote: Remote, as_json: bool) -> None:
    """Resume failed job ID: its failed activities run again, what succeeded is kept."""
    result = run(_resume(remote, job_id, wait))
    if as_json:
        print_json(result)
    else:
        click.echo(job_line(result) if wait else f"resumed: {job_line(result)}")
    if wait:
        sys.exit(EXIT_CODES.get(result.status, 1))
