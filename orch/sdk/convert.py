"""Crossing the text boundary: properties in, published data out.

Runbooks pass text around (as in SCO). An activity, though, is written against
typed Structs. This module is the one place that converts rendered properties
into an activity's :class:`~orch.sdk.declare.Inputs` (lenient: ``"5"`` becomes
``5`` for an ``int`` field) and turns whatever an activity returns into items
of text — so the runtime and the test helper agree exactly.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from orch.document.values import convert_lenient
from orch.errors import ActivityError, OrchError
from orch.sdk.declare import ActivityType, Inputs, Published

Item = dict[str, str]


class InputError(ActivityError):
    """An input property does not fit the activity's declared type."""

    def __init__(self, message: str, *, property: str | None = None) -> None:
        super().__init__(message)
        self.property = property


def to_text(value: Any) -> str:
    """Canonical text of a published value.

    Integers in decimal, booleans ``true``/``false``, times RFC 3339 UTC with a
    ``Z`` suffix, absent values as empty text; lists and objects as JSON.
    """
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.lstrip("-") if value.is_zero() else text
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_text(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return msgspec.json.encode(value).decode()


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix (a naive time is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD = re.compile(r"field `([^`]+)`")


def convert_inputs(activity: ActivityType, properties: Any) -> Inputs:
    """Convert rendered properties to the activity's Inputs Struct.

    Text converts to the declared types (``strict=False``). A mismatch raises
    :class:`InputError` whose message names the property.
    """
    if isinstance(properties, activity.inputs):
        return properties
    try:
        return convert_lenient(properties, activity.inputs)
    except msgspec.ValidationError as exc:
        raise input_error(activity.name, exc) from None


def input_error(activity_name: str, exc: msgspec.ValidationError) -> InputError:
    """Rephrase msgspec's message so the author sees which property is wrong."""
    m = _AT.match(str(exc))
    reason = m.group("reason") if m else str(exc)
    path = (m.group("path") or "") if m else ""
    if path:
        prop = path.lstrip(".")
        return InputError(f"property {prop}: {reason}", property=prop.split(".")[0].split("[")[0])
    field = _FIELD.search(reason)
    if field and "missing required" in reason:
        return InputError(f"property {field.group(1)} is required", property=field.group(1))
    if field and "unknown field" in reason:
        return InputError(
            f"property {field.group(1)} is not a property of {activity_name}",
            property=field.group(1),
        )
    return InputError(f"properties: {reason}")


def to_items(result: Any) -> list[Item]:
    """Items of text from what an activity returned.

    ``None`` publishes one item without fields of its own (the run still
    publishes the common fields and its path goes on); a Published Struct or a
    mapping is one item; a list is one item per element (an empty list means
    zero items: the path below is dead).
    """
    if result is None:
        return [{}]
    if isinstance(result, list | tuple):
        return [_item(r) for r in result]
    return [_item(result)]


def _item(obj: Any) -> Item:
    if isinstance(obj, Published):
        return {f: to_text(getattr(obj, f)) for f in obj.__struct_fields__}
    if isinstance(obj, Mapping):
        return {str(k): to_text(v) for k, v in obj.items()}
    raise ActivityError(
        f"an activity must return a Published Struct, a mapping or a list of them, "
        f"not {type(obj).__name__}"
    )


def error_summary(exc: BaseException) -> str:
    """The ErrorSummary of a run that raised ``exc``: the message of an orch
    error as is, anything else prefixed with its type (it is likely a bug)."""
    if isinstance(exc, OrchError):
        return exc.message
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
