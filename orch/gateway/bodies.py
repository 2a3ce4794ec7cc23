"""Reading requests and writing responses with the API's Structs.

Malformed JSON is a 400; JSON of the wrong shape is a 422 naming the path of
the fault (msgspec reports it as ``... - at `$.field```). Ids in the URL that
are not UUIDs cannot name anything, so they are a 404 like any unknown id.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from orch.api import encode
from orch.gateway.errors import BadRequest, Invalid, NotFoundError, UnsupportedMediaType

T = TypeVar("T")

_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")


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


async def read_bytes(request: web.Request) -> bytes:
    if not is_json(request.content_type):
        raise UnsupportedMediaType(
            f"send the body as application/json, not {request.content_type}"
        )
    body = await request.read()
    if not body.strip():
        raise BadRequest("expected a JSON body", code="empty-body")
    return body


def parse_json(body: bytes) -> Any:
    """Parse ``body`` as JSON (any shape); 400 when it is not JSON."""
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise BadRequest(f"malformed JSON: {e}", code="malformed-json") from None


async def read_json(request: web.Request, type_: type[T]) -> T:
    body = await read_bytes(request)
    data = parse_json(body)
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
