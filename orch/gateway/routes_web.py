"""Routes of the web service beyond the first slice: folders, check-out, diffs,
re-runs, the instance log, operations data and the live feed.

Appended to the gateway's one route table (``routes.py``), so the OpenAPI
document describes them like every other route.
"""

from __future__ import annotations

from orch.api import Job, RunbookSummary
from orch.api.designer import DiffQuery
from orch.api.folders import CreateFolder, Folder, FolderList, ListFoldersQuery, UpdateFolder
from orch.api.jobs import RerunQuery
from orch.api.live import ClientMessage, LiveFrame
from orch.api.logs import LogPage, LogQuery
from orch.api.openapi import Operation
from orch.api.operations import (
    EventList,
    ListEventsQuery,
    ListPacksQuery,
    ListServersQuery,
    PackList,
    Server,
    ServerList,
)
from orch.document.diff import RunbookDiff
from orch.gateway import designer, folders, jobs, logs, operations
from orch.gateway.live import live
from orch.gateway.starts import IDEMPOTENCY_PARAM

API = "/api/v1"
_NAME_PARAM = {"name": {"type": "string", "minLength": 1}}

LIVE_DESCRIPTION = """\
A websocket. Send `{"subscribe": {"job": ID}}`, `{"subscribe": {"runbook": ID}}` or
`{"subscribe": {"all": true}}`, optionally with `"after": SEQ` (replay every event after
it first, then live: no gap, no duplicate) and `"id"` (the subscription's name in
frames); `{"unsubscribe": {"subscription": ID}}` ends one. Frames: `subscribed`,
`events` (one or more events of one subscription, in `seq` order), `lagged` (the client
read too slowly: subscribe again with `after: last_seq`), `unsubscribed`, `error`.
Message schemas: `x-websocket`."""

ROUTES = (
    # -- folders ----------------------------------------------------------------------
    (Operation("GET", f"{API}/folders", "list_folders",
               "The folder tree, by path (a parent before what it holds)",
               query=ListFoldersQuery, response=FolderList, errors=(403, 422),
               tags=("folders",)),
     folders.list_folders),
    (Operation("POST", f"{API}/folders", "create_folder",
               "Create a folder (and any missing parents)",
               body=CreateFolder, response=Folder, status=201, errors=(400, 403, 409, 422),
               tags=("folders",)),
     folders.create_folder),
    (Operation("GET", f"{API}/folders/{{id}}", "get_folder", "A folder",
               response=Folder, errors=(403, 404), tags=("folders",)),
     folders.get_folder),
    (Operation("PATCH", f"{API}/folders/{{id}}", "update_folder",
               "Rename a folder or move it into another; everything below follows",
               body=UpdateFolder, response=Folder, errors=(400, 403, 404, 409, 422),
               tags=("folders",)),
     folders.update_folder),
    (Operation("DELETE", f"{API}/folders/{{id}}", "delete_folder",
               "Delete an empty folder", status=204, errors=(403, 404, 409),
               tags=("folders",)),
     folders.delete_folder),
    # -- runbooks: check-out, diff ----------------------------------------------
    (Operation("POST", f"{API}/runbooks/{{id}}/checkout", "check_out_runbook",
               "Check a runbook out: nobody else may check in a version until it is released",
               response=RunbookSummary, errors=(403, 404, 409), tags=("runbooks",)),
     designer.check_out),
    (Operation("DELETE", f"{API}/runbooks/{{id}}/checkout", "undo_check_out_runbook",
               "Undo your check-out", response=RunbookSummary, errors=(403, 404, 409),
               tags=("runbooks",)),
     designer.undo_check_out),
    (Operation("GET", f"{API}/runbooks/{{id}}/diff", "diff_runbook_versions",
               "What changed between two versions (activities, links, properties)",
               query=DiffQuery, response=RunbookDiff, errors=(403, 404, 422),
               tags=("runbooks",)),
     designer.diff_versions),
    # -- jobs and instances -----------------------------------------------------------
    (Operation("POST", f"{API}/jobs/{{id}}/rerun", "rerun_job",
               "Start a new job with the same runbook version (or the latest) and parameters",
               query=RerunQuery, response=Job, status=201, errors=(403, 404, 409, 422),
               headers=IDEMPOTENCY_PARAM, tags=("jobs",)),
     jobs.rerun_job),
    (Operation("GET", f"{API}/instances/{{id}}/log", "get_instance_log",
               "An instance's log: what activities wrote, program output as it streamed",
               query=LogQuery, response=LogPage, errors=(403, 404, 422), tags=("jobs",)),
     logs.instance_log),
    # -- operations ---------------------------------------------------------------------
    (Operation("GET", f"{API}/servers", "list_servers",
               "Runbook servers: state, heartbeat age, capacity, running instances, packs",
               query=ListServersQuery, response=ServerList, errors=(403, 422),
               tags=("operations",)),
     operations.list_servers),
    (Operation("GET", f"{API}/servers/{{name}}", "get_server", "A runbook server",
               response=Server, path_params=_NAME_PARAM, errors=(403, 404),
               tags=("operations",)),
     operations.get_server),
    (Operation("GET", f"{API}/events", "list_events",
               "Server, job, instance and activity events, and the audit log; newest first",
               query=ListEventsQuery, response=EventList, errors=(403, 422),
               tags=("operations",)),
     operations.list_events),
    (Operation("GET", f"{API}/integration-packs", "list_integration_packs",
               "Integration packs: installed with the gateway, and reported by servers",
               query=ListPacksQuery, response=PackList, errors=(403, 422),
               tags=("operations",)),
     operations.list_packs),
    # -- the live feed ------------------------------------------------------------------
    (Operation("GET", f"{API}/live", "live", "The live status feed (websocket)",
               status=101, errors=(400,), description=LIVE_DESCRIPTION,
               messages=(ClientMessage, LiveFrame), tags=("live",)),
     live),
)  # fmt: skip
