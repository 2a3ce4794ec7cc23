"""The runbook server (``orch server``)."""

from orch.server.server import RunbookServer

__all__ = ["RunbookServer"]
