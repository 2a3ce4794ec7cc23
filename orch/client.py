"""A small public async client for the gateway's REST API, for the CLI and for scripts.

    async with Client.from_env() as orch:
        job = await orch.start_job("/Examples/Hello", {"Name": "World"})
        job = await orch.wait_job(job.id)
        print(job.status, job.returned_data)

Responses are decoded into the same Structs the gateway encodes (``orch.api``).
Failures raise :class:`ApiError` (the gateway answered with an error body) or
:class:`Unreachable` (no gateway at that URL); both are ``OrchError``s whose
message is one readable line.

Where the gateway is and which token to use: arguments, else ``ORCH_URL`` /
``ORCH_TOKEN``, else the credentials file ``orch up`` writes in the data
folder (``ORCH_DATA_DIR``, default ``./.orch``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec

from orch.api import (
    FINISHED_JOB_STATUSES,
    CheckInResult,
    ErrorBody,
    Fault,
    Health,
    Instance,
    Job,
    JobList,
    RunbookDetail,
    RunbookList,
    RunbookSummary,
    RunbookVersion,
)
from orch.api.failover import FolderServers, RunbookServers
from orch.api.folders import Folder, FolderList
from orch.api.operations import Server
from orch.api.properties import RunbookEnabled
from orch.api.sco import ScoImportReport
from orch.api.transfer import ImportResult
from orch.errors import OrchError

__all__ = [
    "CREDENTIALS_FILE",
    "ApiError",
    "Client",
    "Unreachable",
    "read_credentials_file",
    "resolve_target",
]

T = TypeVar("T")

CREDENTIALS_FILE = "credentials.json"
"""In the data folder; written (mode 0600) by the first ``orch up``."""
API_PREFIX = "/api/v1"


class ApiError(OrchError):
    """The gateway refused the request."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        path: str | None = None,
        faults: list[Fault] | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.status = status
        self.code = code
        self.faults = faults or []

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path and self.path != "$" else ""
        return f"{self.message}{where} [{self.status} {self.code}]"


class Unreachable(OrchError):
    """The gateway could not be reached."""


class NotConfigured(OrchError):
    """No gateway URL: set ORCH_URL, or start one with `orch up` (it records its URL)."""


def read_credentials_file(data_dir: Path | str) -> dict[str, Any]:
    """The credentials file's content (``{}`` when there is none or it is unreadable)."""
    try:
        data = json.loads((Path(data_dir) / CREDENTIALS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def resolve_target(
    url: str | None = None,
    token: str | None = None,
    *,
    data_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, str | None]:
    """(gateway URL, token): arguments, else ORCH_URL/ORCH_TOKEN, else the credentials file."""
    env = os.environ if env is None else env
    url = url or env.get("ORCH_URL") or None
    token = token or env.get("ORCH_TOKEN") or None
    if url is None or token is None:
        folder = data_dir or env.get("ORCH_DATA_DIR") or ".orch"
        saved = read_credentials_file(folder)
        url = url or saved.get("url")
        token = token or saved.get("token")
    if not url:
        raise NotConfigured()
    return url.rstrip("/"), token


class Client:
    """One gateway, one token; reuse it for many calls (it holds a connection pool)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    @classmethod
    def from_env(
        cls,
        url: str | None = None,
        token: str | None = None,
        *,
        data_dir: Path | str | None = None,
        timeout: float = 30.0,
    ) -> Client:
        """A client for the gateway named by the arguments, the environment or ``orch up``."""
        url, token = resolve_target(url, token, data_dir=data_dir)
        return cls(url, token, timeout=timeout)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    # -- runbooks ---------------------------------------------------------------

    async def check_in(
        self, document: bytes | str | Mapping[str, Any] | Path, *, comment: str = ""
    ) -> CheckInResult:
        """Check in a new runbook (a document, its JSON text, or a file path)."""
        return await self._call(
            "POST", "/runbooks", CheckInResult, body=_document_bytes(document),
            params={"comment": comment} if comment else None,
        )

    async def check_in_version(
        self,
        runbook_id: str,
        document: bytes | str | Mapping[str, Any] | Path,
        *,
        comment: str = "",
    ) -> CheckInResult:
        """Check in a new version of an existing runbook."""
        return await self._call(
            "PUT", f"/runbooks/{runbook_id}", CheckInResult, body=_document_bytes(document),
            params={"comment": comment} if comment else None,
        )

    async def list_runbooks(
        self, folder: str | None = None, *, cursor: str | None = None, limit: int | None = None
    ) -> RunbookList:
        params = _params(folder=folder, cursor=cursor, limit=limit)
        return await self._call("GET", "/runbooks", RunbookList, params=params)

    async def iter_runbooks(self, folder: str | None = None) -> AsyncIterator[RunbookSummary]:
        """Every runbook (in ``folder`` or below), following the pages."""
        cursor = None
        while True:
            page = await self.list_runbooks(folder, cursor=cursor)
            for item in page.items:
                yield item
            if page.next is None:
                return
            cursor = page.next

    async def find_runbook(self, path: str) -> RunbookSummary | None:
        """The runbook at ``path`` (``/Folder/Name``), or None."""
        folder = path.rsplit("/", 1)[0] or "/"
        async for item in self.iter_runbooks(folder):
            if item.path == path:
                return item
        return None

    async def get_runbook(self, runbook_id: str) -> RunbookDetail:
        return await self._call("GET", f"/runbooks/{runbook_id}", RunbookDetail)

    async def get_runbook_version(self, runbook_id: str, version: int) -> RunbookVersion:
        return await self._call(
            "GET", f"/runbooks/{runbook_id}/versions/{version}", RunbookVersion
        )

    async def import_runbooks(
        self,
        documents: list[Mapping[str, Any]],
        *,
        comment: str = "",
        dry_run: bool = False,
    ) -> ImportResult:
        """Check in many documents at once, all or nothing (``POST /runbooks/import``).

        An invalid batch raises ApiError 422 whose ``faults`` name every fault
        of every document (``$.documents[i]...``); nothing is then written.
        """
        body = {"documents": [dict(d) for d in documents], "comment": comment,
                "dry_run": dry_run}  # fmt: skip
        return await self._call(
            "POST", "/runbooks/import", ImportResult, body=msgspec.json.encode(body)
        )

    async def import_sco(
        self, export: bytes, *, folder: str = "/", dry_run: bool = False
    ) -> ScoImportReport:
        """Import an SCO export (``.ois_export`` bytes) under ``folder``, all or nothing
        (``POST /runbooks/import-sco``); the report says what needs review."""
        params = {"folder": folder, **({"dry_run": "true"} if dry_run else {})}
        return await self._call("POST", "/runbooks/import-sco", ScoImportReport, body=export,
                                params=params, content_type="application/xml")  # fmt: skip

    # -- jobs -------------------------------------------------------------------

    async def start_job(
        self,
        runbook: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        server: str | None = None,
        priority: int = 0,
    ) -> Job:
        """Start a job of ``runbook`` (an id or a path such as ``/Examples/Hello``)."""
        body = {"runbook": runbook, "parameters": dict(parameters or {}), "server": server,
                "priority": priority}
        return await self._call("POST", "/jobs", Job, body=msgspec.json.encode(body))

    async def get_job(self, job_id: str) -> Job:
        return await self._call("GET", f"/jobs/{job_id}", Job)

    async def list_jobs(
        self,
        *,
        runbook: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> JobList:
        params = _params(runbook=runbook, status=status, cursor=cursor, limit=limit)
        return await self._call("GET", "/jobs", JobList, params=params)

    async def stop_job(self, job_id: str) -> Job:
        """Ask the job to stop; it turns ``stopped`` once its activities are cancelled."""
        return await self._call("POST", f"/jobs/{job_id}/stop", Job)

    async def get_instance(self, instance_id: str) -> Instance:
        return await self._call("GET", f"/instances/{instance_id}", Instance)

    async def resume_instance(self, instance_id: str) -> Job:
        """Resume a failed instance: its failed activities run again, the rest is kept."""
        return await self._call("POST", f"/instances/{instance_id}/resume", Job)

    # -- runbook properties -----------------------------------------------------

    async def set_runbook_disabled(self, runbook_id: str, disabled: bool) -> RunbookEnabled:
        """Disable (new starts refused, its monitor stopped) or enable the runbook."""
        verb = "disable" if disabled else "enable"
        return await self._call("POST", f"/runbooks/{runbook_id}/{verb}", RunbookEnabled)

    # -- runbook servers: assignment, drain, maintenance ------------------------

    async def runbook_servers(self, runbook_id: str) -> RunbookServers:
        return await self._call("GET", f"/runbooks/{runbook_id}/servers", RunbookServers)

    async def set_runbook_servers(self, runbook_id: str, servers: list[str]) -> RunbookServers:
        """Primary first, then standbys; an empty list removes the runbook's own."""
        body = msgspec.json.encode({"servers": servers})
        return await self._call("PUT", f"/runbooks/{runbook_id}/servers", RunbookServers,
                                body=body)

    async def find_folder(self, path: str) -> Folder | None:
        """The folder at ``path`` (``/Ops``), or None."""
        page = await self._call("GET", "/folders", FolderList,
                                params={"under": path, "limit": "1"})
        return next((f for f in page.items if f.path == path), None)

    async def folder_servers(self, folder_id: str) -> FolderServers:
        return await self._call("GET", f"/folders/{folder_id}/servers", FolderServers)

    async def set_folder_servers(self, folder_id: str, servers: list[str]) -> FolderServers:
        """For every runbook below the folder without its own; empty removes it."""
        body = msgspec.json.encode({"servers": servers})
        return await self._call("PUT", f"/folders/{folder_id}/servers", FolderServers,
                                body=body)

    async def drain_server(self, name: str) -> Server:
        """Stop claiming, finish within the grace period, hand over the rest (admins)."""
        return await self._call("POST", f"/servers/{quote(name, safe='')}/drain", Server)

    async def set_server_maintenance(self, name: str, on: bool) -> Server:
        """Maintenance on (claim nothing, kept across restarts) or off (admins)."""
        body = msgspec.json.encode({"maintenance": on})
        return await self._call("PUT", f"/servers/{quote(name, safe='')}/maintenance", Server,
                                body=body)

    async def watch_job(
        self, job_id: str, *, poll_seconds: float = 0.25
    ) -> AsyncIterator[tuple[Job, Instance | None]]:
        """Yield (job, latest instance) each time either changes, until the job finishes.

        Polls; the last value yielded is the finished job.
        """
        last: tuple[Job, Instance | None] | None = None
        while True:
            job = await self.get_job(job_id)
            instance = None
            if job.instance_id is not None:
                instance = await self.get_instance(job.instance_id)
            if last is None or (job, instance) != last:
                last = (job, instance)
                yield job, instance
            if job.status in FINISHED_JOB_STATUSES:
                return
            await asyncio.sleep(poll_seconds)

    async def wait_job(self, job_id: str, *, poll_seconds: float = 0.25) -> Job:
        """The job once it has finished (success, warning, failed or stopped).

        Bound the wait with ``asyncio.timeout(...)`` around the call.
        """
        final: Job | None = None
        async for job, _ in self.watch_job(job_id, poll_seconds=poll_seconds):
            final = job
        assert final is not None
        return final

    async def ws_connect(
        self, path: str, *, heartbeat: float = 30.0
    ) -> aiohttp.ClientWebSocketResponse:
        """A websocket to ``/api/v1{path}`` (the live feed: see ``orch.live``).

        It offers permessage-deflate: the gateway compresses each shared frame
        once for every socket that accepts it (~9× fewer bytes on the wire)."""
        url = f"{self.url}{API_PREFIX}{path}"
        try:
            return await self._get_session().ws_connect(url, heartbeat=heartbeat,
                                                        max_msg_size=0, compress=15)
        except aiohttp.WSServerHandshakeError as e:
            raise ApiError(e.status, _HTTP_CODES.get(e.status, "http-error"),
                           f"live feed refused: {e.message}") from None
        except (aiohttp.ClientConnectionError, aiohttp.InvalidURL, TimeoutError) as e:
            raise Unreachable(
                f"cannot reach the gateway at {self.url} ({_reason(e)}); is `orch up` running?"
            ) from None

    # -- service ----------------------------------------------------------------

    async def health(self) -> Health:
        return await self._call("GET", "/health", Health, prefix="", ok=(200, 503))

    async def openapi(self) -> dict[str, Any]:
        return await self._call("GET", "/openapi.json", dict[str, Any])

    # -- plumbing ---------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            headers = {"Accept": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            self._session = aiohttp.ClientSession(headers=headers, timeout=self._timeout)
            self._owns_session = True
        return self._session

    async def _call(
        self,
        method: str,
        path: str,
        type_: type[T],
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        prefix: str = API_PREFIX,
        ok: tuple[int, ...] = (),
        content_type: str = "application/json",
    ) -> T:
        url = f"{self.url}{prefix}{path}"
        headers = {"Content-Type": content_type} if body is not None else None
        session = self._get_session()
        try:
            async with session.request(
                method, url, data=body, params=params, headers=headers
            ) as resp:
                payload = await resp.read()
                status = resp.status
        except (aiohttp.ClientConnectionError, aiohttp.InvalidURL, TimeoutError) as e:
            raise Unreachable(
                f"cannot reach the gateway at {self.url} ({_reason(e)}); is `orch up` running?"
            ) from None
        if status >= 400 and status not in ok:
            raise _api_error(status, payload)
        try:
            return msgspec.json.decode(payload, type=type_)
        except msgspec.DecodeError as e:
            raise ApiError(status, "bad-response", f"unexpected response from {url}: {e}") from None


_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not-found"}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.os_error.strerror:
        return exc.os_error.strerror.lower()
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    return str(exc) or type(exc).__name__


def _api_error(status: int, payload: bytes) -> ApiError:
    try:
        detail = msgspec.json.decode(payload, type=ErrorBody).error
    except msgspec.DecodeError:
        text = payload.decode(errors="replace").strip().splitlines()
        return ApiError(status, "http-error", text[0][:200] if text else f"HTTP {status}")
    return ApiError(
        status, detail.code, detail.message, path=detail.path, faults=detail.faults
    )


def _params(**values: Any) -> dict[str, str] | None:
    out = {k: str(v) for k, v in values.items() if v is not None}
    return out or None


def _document_bytes(document: bytes | str | Mapping[str, Any] | Path) -> bytes:
    if isinstance(document, Path):
        return document.read_bytes()
    if isinstance(document, bytes):
        return document
    if isinstance(document, str):
        return document.encode()
    return msgspec.json.encode(dict(document))
