"""orch: a runbook automation engine — an asyncio actor runtime on PostgreSQL."""

__version__ = "0.1.0"
