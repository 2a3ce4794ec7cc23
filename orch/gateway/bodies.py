"""Reading requests and writing responses with the API's Structs.

Every request body is read here (:func:`read_bytes`, :func:`read_xml`) and
every JSON body is decoded here (:func:`decode_json`), with the same limits on
every route, the public log-in included:

- the size limit (``client_max_size`` of the app, or a route's smaller one): 413;
- not UTF-8, not JSON (truncated, ``NaN``/``Infinity``, a lone surrogate), a
  float past the double range: 400 ``malformed-json``;
- arrays and objects nested deeper than :data:`MAX_DEPTH`: 400 ``too-deep``
  (checked without recursion; nothing to do for a normal document, a fraction
  of msgspec's own decode for a large one; msgspec's ``RecursionError`` on
  thousands of levels is the same 400);
- an integer outside the signed 64-bit range: 400 ``number-out-of-range``;
- a key given twice in one object: the last one wins, as in PostgreSQL's
  ``jsonb`` and the browser's ``JSON.parse``, so no two parts of orch can read
  one body differently.

The refusals are :class:`BodyRefused`; the error middleware answers them with
the error contract and logs one warning line (route and reason), never a
traceback. JSON of the wrong shape is a 422 naming the path of the fault
(msgspec reports it as ``... - at `$.field```). Ids in the URL that are not
UUIDs cannot name anything, so they are a 404 like any unknown id.
"""

from __future__ import annotations

import array
import itertools
import re
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from orch.api import encode
from orch.document.properties import child_path
from orch.gateway.errors import (
    BadRequest,
    BodyRefused,
    BodyTooLarge,
    Invalid,
    NotFoundError,
    UnsupportedMediaType,
)

T = TypeVar("T")

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects in a request body (a runbook document needs about 8)."""
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""Integers in a request body must fit a signed 64-bit integer (PostgreSQL's ``bigint``)."""

ROUTE_MAX_BYTES: dict[str, int] = {"login": 16 * 1024}
"""Routes (by operation id) whose bodies are small by nature get a limit below the
app's, checked before the body is read: the public log-in's name and password get
a 413 past 16 KiB, before any password is hashed."""

_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")
_ESCAPE = re.compile(rb"\\.")
# On the structure (no strings): an integer token (not a float's fraction or exponent) of
# 19 digits or more.
_LONG_INTEGER = re.compile(rb"(?:^|(?<=[\[,:\s]))-?[0-9]{19,}(?![0-9.eE])")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1, +1, -1, -1
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def split_validation_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    """``"Expected `str`, got `int` - at `$.a`"`` → ``("Expected `str`, got `int`", "$.a")``.

    An unknown key's path is the key itself (``$.bogus``), not the object holding it.
    """
    m = _AT_PATH.match(str(exc))
    assert m is not None  # the pattern matches any text
    message, path = m["message"], m["path"] or "$"
    unknown = _UNKNOWN_FIELD.match(message)
    if unknown is not None:
        path = f"{path}.{unknown['name']}"
    return message, path


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_bytes(request: web.Request, *, max_bytes: int | None = None) -> bytes:
    """The JSON body's bytes: 415 if it is not sent as JSON, 413 past the size limit, 400 if empty.

    ``max_bytes`` (default: the route's entry in :data:`ROUTE_MAX_BYTES`) is a
    limit below the app's, checked before the body is read.
    """
    if max_bytes is None:
        max_bytes = ROUTE_MAX_BYTES.get(request.match_info.route.name or "")
    if not is_json(request.content_type):
        raise UnsupportedMediaType(
            f"send the body as application/json, not {request.content_type}"
        )
    if max_bytes is not None and (request.content_length or 0) > max_bytes:
        raise BodyTooLarge(f"the body is larger than {max_bytes} bytes")
    body = await request.read()  # aiohttp: 413 past the app's client_max_size
    if max_bytes is not None and len(body) > max_bytes:
        raise BodyTooLarge(f"the body is larger than {max_bytes} bytes")
    if not body.strip():
        raise BadRequest("expected a JSON body", code="empty-body")
    return body


def is_xml(content_type: str) -> bool:
    return content_type in ("application/xml", "text/xml") or (
        content_type.startswith("application/") and content_type.endswith("+xml")
    )


async def read_xml(request: web.Request, *, max_bytes: int | None = None) -> bytes:
    """An XML body's bytes: 415 if not sent as XML, 413 past the size limit.

    Parsing is the route's (defusedxml, no DTD, no entities, a depth limit: the
    SCO importer); refusals there are :class:`BodyRefused` like JSON's.
    """
    if not is_xml(request.content_type):
        raise UnsupportedMediaType(f"send the body as application/xml, not {request.content_type}")
    if max_bytes is None:
        max_bytes = ROUTE_MAX_BYTES.get(request.match_info.route.name or "")
    if max_bytes is not None and (request.content_length or 0) > max_bytes:
        raise BodyTooLarge(f"the body is larger than {max_bytes} bytes")
    body = await request.read()  # aiohttp: 413 past the app's client_max_size
    if max_bytes is not None and len(body) > max_bytes:
        raise BodyTooLarge(f"the body is larger than {max_bytes} bytes")
    return body


def decode_json(body: bytes) -> Any:
    """``body`` as JSON (any shape) within the limits above; :class:`BodyRefused` otherwise."""
    try:
        data = msgspec.json.decode(body)
    except RecursionError:
        raise BodyRefused(f"the body is nested deeper than {MAX_DEPTH} levels",
                          code="too-deep") from None
    except msgspec.ValidationError as e:  # a float past the double range, thousands of digits
        message, path = split_validation_error(e)
        raise BodyRefused(f"a number is out of range: {message}", code="number-out-of-range",
                          path=path) from None
    except msgspec.DecodeError as e:
        raise BodyRefused(f"malformed JSON: {e}", code="malformed-json") from None
    if _too_deep(body):
        raise BodyRefused(f"the body is nested deeper than {MAX_DEPTH} levels",
                          code="too-deep", path=_first_too_deep(data))
    if _NINETEEN_DIGITS in body.translate(_DIGITS):  # else no integer can be out of range
        for m in _LONG_INTEGER.finditer(_structure(body)):
            digits = m[0].lstrip(b"-")
            if len(digits) > 19 or not INT_MIN <= int(m[0]) <= INT_MAX:
                raise BodyRefused(
                    "an integer is outside the signed 64-bit range "
                    f"({INT_MIN} to {INT_MAX})", code="number-out-of-range",
                    path=_first_out_of_range(data))
    return data


def parse_json(body: bytes) -> Any:
    """Parse ``body`` as JSON (any shape): :func:`decode_json`."""
    return decode_json(body)


def _structure(body: bytes) -> bytes:
    """Valid JSON text without its strings: brackets, punctuation, numbers and literals.

    Once every escape (``\\"`` included) is gone, quotes alternate opening and
    closing a string, so the text outside strings is every other piece.
    """
    if b"\\" in body:
        body = _ESCAPE.sub(b"", body)
    return b"".join(body.split(b'"')[::2])


def _too_deep(body: bytes) -> bool:
    """Is the valid JSON ``body`` nested deeper than MAX_DEPTH? Without recursion.

    Few brackets (strings' included) cannot make a deep body: most bodies stop
    at that first test. Otherwise the strings go, the brackets are kept as +1
    and -1, and the deepest point is the largest running sum (C loops, about
    25 ns a bracket).
    """
    if len(body.translate(None, _NOT_BRACKETS)) <= 2 * MAX_DEPTH:
        return False
    steps = array.array("b", _structure(body).translate(_STEPS, _NOT_BRACKETS))
    return max(itertools.accumulate(steps), default=0) > MAX_DEPTH


_WALK_BUDGET = 200_000
"""Values looked at to name the path of a refusal; past it the path is ``$`` (a body
built to make that search slow gets the same 400, only less precise)."""


def _walk(data: Any) -> Iterator[tuple[str, int, Any]]:
    """(path, depth, value) of the values of decoded JSON in document order, without
    recursion, at most ``_WALK_BUDGET`` of them."""
    yield "$", 1, data
    budget = _WALK_BUDGET
    stack: list[tuple[str, int, Iterator[tuple[str | int, Any]]]] = []
    if isinstance(data, dict | list):
        stack.append(("$", 2, _children(data)))
    while stack and budget > 0:
        parent, depth, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        budget -= 1
        path = child_path(parent, child[0])
        yield path, depth, child[1]
        if isinstance(child[1], dict | list):
            stack.append((path, depth + 1, _children(child[1])))


def _children(value: dict[str, Any] | list[Any]) -> Iterator[tuple[str | int, Any]]:
    return iter(value.items()) if isinstance(value, dict) else enumerate(value)


def _first_too_deep(data: Any) -> str:
    for path, depth, value in _walk(data):
        if depth > MAX_DEPTH and isinstance(value, dict | list):
            return path
    return "$"


def _first_out_of_range(data: Any) -> str:
    for path, _, value in _walk(data):
        if type(value) is int and not INT_MIN <= value <= INT_MAX:
            return path
    return "$"


async def read_json(request: web.Request, type_: type[T], *, max_bytes: int | None = None) -> T:
    """The body decoded (:func:`decode_json`) and converted to ``type_`` (422 naming the path)."""
    data = decode_json(await read_bytes(request, max_bytes=max_bytes))
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as e:
        message, path = split_validation_error(e)
        raise Invalid(message, path=path) from None


def read_query(request: web.Request, type_: type[T]) -> T:
    """Query-string parameters converted (``"5"`` → 5) and validated by a Query Struct."""
    for key, value in request.query.items():
        if "\x00" in value:
            raise Invalid("text must not contain NUL characters", path=f"$.{key}",
                          code="invalid-query")
    try:
        return msgspec.convert(dict(request.query), type_, strict=False)
    except msgspec.ValidationError as e:
        message, path = split_validation_error(e)
        raise Invalid(message, path=path, code="invalid-query") from None


def path_uuid(request: web.Request, name: str = "id") -> uuid.UUID:
    text = request.match_info[name]
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFoundError(f"no such id: {text}") from None


def path_int(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 9:
        raise NotFoundError(f"no such {name}: {text}")
    return int(text)


def json_response(
    body: Any, status: int = 200, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=encode(body), status=status, content_type="application/json", headers=headers
    )
