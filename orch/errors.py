"""One root exception for orch; each subclass's docstring is its default message."""

from __future__ import annotations


class OrchError(Exception):
    """An orch error occurred."""

    def __init__(self, message: str | None = None, *, path: str | None = None) -> None:
        self.message = message or (type(self).__doc__ or "").strip()
        self.path = path
        super().__init__(self.message if path is None else f"{path}: {self.message}")


class ConfigError(OrchError):
    """The configuration is invalid."""


class DocumentError(OrchError):
    """The runbook document is invalid."""


class ExpressionError(OrchError):
    """The expression is invalid."""


class ActivityError(OrchError):
    """The activity failed."""


class NotFound(OrchError):
    """Not found."""


class Conflict(OrchError):
    """The request conflicts with the current state."""
