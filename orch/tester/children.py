"""Where the tester finds the runbooks an ``invoke_runbook`` names.

A test runs without a database, so a child runbook comes from a file beside
the one under test — a document in that folder whose ``folder``/``name``
path is the reference (or whose local id is), or a file named by the
reference relative to that folder (``child.json``, ``lib/child``) — or, when
the tester was given a gateway (``--url``), from the gateway (read only: the
child still runs here, in memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

from actors.memory import runbook_id_for
from orch.client import Client
from orch.document import DocumentInvalid, decode_document
from orch.errors import NotFound


@dataclass(frozen=True, slots=True)
class Found:
    """A child runbook's document and where it came from."""

    key: str
    """Identifies the document (compiled once per key)."""
    source: str
    """A file name, or ``gateway``."""
    data: bytes


class ChildResolver:
    """Finds child runbooks beside ``folder`` and, with a client, in a gateway."""

    def __init__(self, folder: Path | None, client: Client | None = None) -> None:
        self.folder = folder
        self.client = client
        self._index: dict[str, Path] | None = None
        self._fetched: dict[str, Found] = {}

    def _local_index(self) -> dict[str, Path]:
        """Path and local id → file, for every runbook document in the folder (read once)."""
        if self._index is None:
            self._index = {}
            if self.folder is not None:
                for file in sorted(self.folder.glob("*.json")):
                    try:
                        doc = decode_document(file.read_bytes())
                    except (OSError, DocumentInvalid):
                        continue  # not a runbook document: only a direct file name finds it
                    self._index.setdefault(doc.path, file)
                    self._index.setdefault(runbook_id_for(doc.path), file)
        return self._index

    def _local_file(self, ref: str) -> Path | None:
        file = self._local_index().get(ref)
        if file is not None or self.folder is None or ref.startswith("/") or not ref:
            return file
        for candidate in (self.folder / ref, self.folder / f"{ref}.json"):
            if candidate.is_file():
                return candidate
        return None

    async def find(self, ref: str) -> Found:
        """The document ``ref`` (a path, an id or a relative file name) names; NotFound."""
        file = self._local_file(ref)
        if file is not None:
            return Found(key=f"file:{file.resolve()}", source=str(file), data=file.read_bytes())
        if self.client is not None:
            return await self._from_gateway(ref)
        where = f" beside {self.folder}" if self.folder is not None else ""
        raise NotFound(
            f"no runbook {ref!r}{where} (a child is looked up by its path in the files of "
            "that folder, or by file name; give --url to fetch it from a gateway)"
        )

    async def _from_gateway(self, ref: str) -> Found:
        assert self.client is not None
        found = self._fetched.get(ref)
        if found is not None:
            return found
        if ref.startswith("/"):
            summary = await self.client.find_runbook(ref)
            if summary is None:
                raise NotFound(f"no runbook {ref!r} beside the file nor in the gateway")
            runbook_id = summary.id
        else:
            runbook_id = ref
        detail = await self.client.get_runbook(runbook_id)
        found = Found(
            key=f"gateway:{detail.id}:{detail.current_version}",
            source=f"gateway ({detail.path} v{detail.current_version})",
            data=msgspec.json.encode(detail.document),
        )
        self._fetched[ref] = found
        return found
