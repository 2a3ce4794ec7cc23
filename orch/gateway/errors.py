"""The error contract: every failure becomes ``{"error": {"code", "message", "path"}}``.

Handlers raise :class:`HttpError` subclasses (or the domain errors of
``orch.errors``, mapped here); the middleware turns them into JSON with the
right 4xx status. Input too deep for any code to read (a ``RecursionError``)
or JSON some code decoded on its own is the client's fault, not a bug: a 400,
with one warning line (route and reason), like every body the decoder refuses.
Anything else is a bug: it is logged with its traceback and answered with a
500 that carries no internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from orch.api import ErrorBody, ErrorDetail, Fault, encode
from orch.document.paths import BadPath
from orch.errors import Conflict, DocumentError, NotFound, OrchError
from orch.logging import get_logger

log = get_logger("orch.gateway")


class HttpError(Exception):
    """An error answered with ``status`` and the error body."""

    status = 500
    code = "internal"
    headers: dict[str, str] | None = None

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        faults: Sequence[Fault] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.faults = list(faults) if faults is not None else None
        if code is not None:
            self.code = code


class BadRequest(HttpError):
    status = 400
    code = "malformed-request"


class BodyRefused(BadRequest):
    """A body the decoder will not read (not JSON, too deep, a number out of range).

    Answered as a 400 like any bad request, and logged as one warning line with
    the route and the reason: hostile input is worth seeing, but it is no bug.
    """


class BodyTooLarge(HttpError):
    status = 413
    code = "body-too-large"


class Unauthorized(HttpError):
    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="orch"'}


class Forbidden(HttpError):
    status = 403
    code = "forbidden"


class NotFoundError(HttpError):
    status = 404
    code = "not-found"


class ConflictError(HttpError):
    status = 409
    code = "conflict"


class Invalid(HttpError):
    status = 422
    code = "invalid-body"


class UnsupportedMediaType(HttpError):
    status = 415
    code = "unsupported-media-type"


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    path: str | None = None,
    faults: list[Fault] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, path=path, faults=faults))
    return web.Response(
        body=encode(body), status=status, content_type="application/json", headers=headers
    )


def _faults_of(exc: OrchError) -> list[Fault] | None:
    raw: Any = getattr(exc, "faults", None)
    if not raw:
        return None
    return [
        Fault(path=f.path, message=f.message, code=getattr(f, "code", "invalid")) for f in raw
    ]


_HTTP_CODES = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
}


DATABASE_LOST: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, or the unix socket gone
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # e.g. the connection was closed under the query
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.InternalClientError,  # asyncpg's state after a connection lost mid-query
)
"""Errors that mean the database went away, not a bug: a 503 the client may retry."""


def route_of(request: web.Request) -> str:
    """The route's template (``/api/v1/jobs/{id}``), not the path with its values."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def _refused(request: web.Request, code: str, message: str,
             path: str | None = None) -> web.Response:
    log.warning("request refused", method=request.method, route=route_of(request),
                reason=code, detail=message[:200])
    return error_response(400, code, message, path=path)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except BodyRefused as e:
        return _refused(request, e.code, e.message, e.path)
    except RecursionError:
        return _refused(request, "too-deep", "the request is nested too deeply to read")
    except msgspec.DecodeError as e:
        if isinstance(e, msgspec.ValidationError):  # a shape no handler checked: a bug
            return _internal(request)
        return _refused(request, "malformed-json", f"malformed JSON: {e}")
    except HttpError as e:
        return error_response(
            e.status, e.code, e.message, path=e.path, faults=e.faults, headers=e.headers
        )
    except BadPath as e:  # a runbook or folder path with '.', '..' or an empty segment
        return error_response(422, "bad-path", e.message, path=e.path)
    except DocumentError as e:
        faults = _faults_of(e)
        path = faults[0].path if faults else e.path
        return error_response(422, "invalid-document", e.message, path=path, faults=faults)
    except NotFound as e:
        return error_response(404, "not-found", e.message, path=e.path)
    except Conflict as e:
        return error_response(409, "conflict", e.message, path=e.path)
    except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError):
        # Text PostgreSQL cannot store (a NUL character), wherever the request carried it.
        return error_response(422, "invalid-text",
                              "text must not contain NUL (\\u0000) characters")
    except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError) as e:
        # A concurrent change interfered (e.g. a folder moved during a check-in).
        return error_response(409, "concurrent-change", f"{e}; retry the request")
    except DATABASE_LOST as e:
        # The database is away (restart, failover): the pool drops the broken
        # connection and opens new ones once it is back; the client retries.
        log.warning("database unavailable", method=request.method, path=request.path,
                    error=str(e))
        return error_response(503, "database-unavailable",
                              "the database is unavailable; retry shortly",
                              headers={"Retry-After": "1"})
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = _HTTP_CODES.get(e.status, "http-error")
        headers = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
        return error_response(e.status, code, e.reason, headers=headers)
    except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
        raise
    except Exception:
        return _internal(request)


def _internal(request: web.Request) -> web.Response:
    """A bug: logged with its traceback (called while handling it), a 500 without internals."""
    log.exception("request failed", method=request.method, path=request.path)
    return error_response(500, "internal", "internal error (a bug; see the gateway's log)")
