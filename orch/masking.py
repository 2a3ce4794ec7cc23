"""Masking decrypted secrets wherever the runtime writes text down.

A runbook server decrypts an encrypted variable only for the activity that
uses it (``PgVariables`` adds the clear value here as it decrypts). Every
choke point that stores or emits text — the store's record of activity
results and instance outcomes (published data, returned data, errors; the
events are written from them), the instance log writer and the structlog
processor — replaces any occurrence of a known secret by ``********`` first.
The set is process-wide: a value secret for one instance is masked in all of
them, which errs on the safe side.
"""

from __future__ import annotations

import re
import threading
from collections.abc import MutableMapping
from typing import Any

__all__ = ["MASK", "SECRETS", "SecretMask", "mask_processor"]

MASK = "********"


class SecretMask:
    """The clear values to hide; ``mask`` replaces them (longest first)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if not value or value in self._values:
            return
        with self._lock:
            self._values.add(value)
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def mask_value(self, value: Any) -> Any:
        """Strings masked inside dicts, lists and tuples (other values as they are)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {k: self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.mask_value(v) for v in value)
        return value


SECRETS = SecretMask()
"""The process's decrypted secrets."""


def mask_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: no decrypted secret reaches a log line."""
    if not SECRETS:
        return event_dict
    for key, value in event_dict.items():
        event_dict[key] = SECRETS.mask_value(value) if isinstance(
            value, str | dict | list | tuple) else value
    return event_dict
