"""Logging, configured once: readable on a terminal, JSON lines otherwise.

Per-job context (job_id, instance_id, activity_id) is bound with
``structlog.contextvars`` and merged first, so every line carries it.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

from orch.masking import mask_processor

_configured = False


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (tests and CLI runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def reset() -> None:
    """Forget the configuration (tests: each starts from the defaults)."""
    global _configured
    _configured = False
    structlog.reset_defaults()


def configure(*, json: bool | None = None, level: str | None = None) -> None:
    """Configure structlog and the stdlib root logger (idempotent)."""
    global _configured
    if _configured:
        return
    _configured = True
    if json is None:
        env = os.environ.get("ORCH_LOG_FORMAT")
        json = env == "json" if env else not sys.stderr.isatty()
    level_name = (level or os.environ.get("ORCH_LOG_LEVEL") or "INFO").upper()
    numeric = logging.getLevelName(level_name)
    if not isinstance(numeric, int):
        numeric = logging.INFO
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        mask_processor,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if json:
        processors += [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        processors += [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)


def get_logger(name: str | None = None, **bound: object) -> structlog.typing.FilteringBoundLogger:
    logger = structlog.get_logger(name)
    return logger.bind(**bound) if bound else logger
