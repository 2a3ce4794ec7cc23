"""``invoke_web_service``: one HTTP request with aiohttp; status, headers and body published.

Each run opens its own client session and closes it when the run ends (a stop
or a timeout included), so no connection outlives the run. The response body
is read up to ``max_response_bytes``; a longer one is cut and the run ends in
warning. Credentials are given as secret properties and never logged.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import aiohttp
import msgspec
from yarl import URL

from activities import _jsonpath
from orch.sdk import ActivityError, Context, Inputs, Published, Secret, activity

DEFAULT_MAX_RESPONSE = 1024 * 1024
_METHOD = re.compile(r"^[A-Z][A-Z0-9_-]*$")
_CHUNK = 64 * 1024


class InvokeWebServiceInputs(Inputs):
    url: str
    """The address, ``http://`` or ``https://``."""
    method: str = "GET"
    """HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS…"""
    headers: dict[str, str] = {}
    """Request headers."""
    query: dict[str, str] = {}
    """Query parameters added to the URL (encoded for you)."""
    body: str = ""
    """Request body text."""
    content_type: str = ""
    """Content-Type of the body when ``headers`` has none
    (default ``text/plain; charset=utf-8``)."""
    username: str = ""
    """User name for HTTP basic authentication."""
    password: Secret = ""
    """Password for HTTP basic authentication (secret)."""
    bearer_token: Secret = ""
    """Token sent as ``Authorization: Bearer …`` (secret)."""
    timeout_seconds: float = 30
    """Time allowed for the whole request, connection to last byte."""
    expected_status: list[int] = []
    """Status codes that count as success (default: any 2xx); others fail the run,
    which still publishes the response."""
    follow_redirects: bool = True
    """Follow 3xx redirects (up to 10)."""
    verify_tls: bool = True
    """Check the server's TLS certificate (turn off only for test servers)."""
    max_response_bytes: int = DEFAULT_MAX_RESPONSE
    """Bytes of body kept; the rest is cut and the run ends in warning."""
    extract: str = ""
    """A JSON path applied to a JSON response body; the result is published as ``Extracted``."""


class WebServiceResponse(Published):
    StatusCode: int
    """The HTTP status code."""
    ResponseBody: str
    """The response body as text."""
    ResponseHeaders: str
    """Response headers as a JSON object (repeated headers joined with ``, ``)."""
    Extracted: str
    """What ``extract`` selected: one value as text, several as a JSON array, none empty."""


@activity(
    "invoke_web_service",
    display_name="Invoke Web Service",
    category="Utilities",
    rerunnable=False,
)
async def invoke_web_service(ctx: Context, inputs: InvokeWebServiceInputs) -> WebServiceResponse:
    """Send one HTTP request and publish the status code, headers and body.

    A status outside ``expected_status`` (default 2xx) fails the run but
    still publishes the response; with ``extract``, a JSON path picks a value
    out of a JSON body into ``Extracted``.
    """
    url, method, headers = _request_parts(inputs)
    if inputs.timeout_seconds <= 0:
        raise ActivityError("property timeout_seconds: must be greater than 0")
    if inputs.max_response_bytes < 0:
        raise ActivityError("property max_response_bytes: must not be negative")
    steps = _jsonpath.compile_path(inputs.extract, "extract") if inputs.extract else None
    data = inputs.body.encode("utf-8") if inputs.body else None
    if data is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = inputs.content_type or "text/plain; charset=utf-8"
    timeout = aiohttp.ClientTimeout(total=inputs.timeout_seconds)
    connector = aiohttp.TCPConnector(ssl=inputs.verify_tls)
    ctx.log.debug("web request", method=method, url=str(url.with_user(None).with_query(None)))
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.request(
                method,
                url,
                headers=headers,
                data=data,
                allow_redirects=inputs.follow_redirects,
            ) as resp,
        ):
            body, cut = await _read_body(resp, inputs.max_response_bytes)
            status = resp.status
            response_headers = _headers_json(resp.headers)
    except aiohttp.InvalidURL:
        raise ActivityError(f"property url: not a valid URL: {inputs.url}") from None
    except TimeoutError:
        raise ActivityError(
            f"no complete response from {url.host} within {inputs.timeout_seconds:g} s"
        ) from None
    except aiohttp.TooManyRedirects:
        raise ActivityError(f"too many redirects from {url}") from None
    except aiohttp.ClientConnectorCertificateError as exc:
        raise ActivityError(
            f"TLS certificate of {url.host} not trusted: {exc.certificate_error}"
        ) from None
    except aiohttp.ClientConnectorError as exc:
        raise ActivityError(f"cannot connect to {url.host}:{url.port}: {exc.os_error}") from None
    except aiohttp.ClientError as exc:
        raise ActivityError(f"request to {url.host} failed: {exc}") from None
    if cut:
        ctx.warn(f"response body cut at {inputs.max_response_bytes} bytes")
    ok = status in inputs.expected_status if inputs.expected_status else 200 <= status < 300
    if not ok:
        expected = ", ".join(map(str, inputs.expected_status)) or "2xx"
        ctx.fail(f"HTTP status {status} (expected {expected})")
    extracted = _extract(ctx, body, steps) if steps is not None else ""
    return WebServiceResponse(
        StatusCode=status,
        ResponseBody=body,
        ResponseHeaders=response_headers,
        Extracted=extracted,
    )


def _request_parts(inputs: InvokeWebServiceInputs) -> tuple[URL, str, dict[str, str]]:
    try:
        url = URL(inputs.url)
    except (ValueError, TypeError):
        raise ActivityError(f"property url: not a valid URL: {inputs.url}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ActivityError(f"property url: an http:// or https:// address is required: {url}")
    if inputs.query:
        url = url.update_query(inputs.query)
    method = inputs.method.strip().upper()
    if not _METHOD.match(method):
        raise ActivityError(f"property method: {inputs.method!r} is not an HTTP method")
    headers = dict(inputs.headers)
    for name, value in headers.items():
        if not name or any(c in name for c in ":\r\n ") or any(c in value for c in "\r\n"):
            raise ActivityError(f"property headers: invalid header {name!r}")
    if inputs.username or inputs.password:
        if ":" in inputs.username:
            raise ActivityError("property username: must not contain ':'")
        if inputs.bearer_token:
            raise ActivityError("property bearer_token: give either a token or a user name")
        pair = f"{inputs.username}:{inputs.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif inputs.bearer_token:
        headers["Authorization"] = f"Bearer {inputs.bearer_token}"
    return url, method, headers


async def _read_body(resp: aiohttp.ClientResponse, limit: int) -> tuple[str, bool]:
    kept = bytearray()
    cut = False
    while chunk := await resp.content.read(_CHUNK):
        room = limit - len(kept)
        if len(chunk) > room:
            kept += chunk[: max(room, 0)]
            cut = True
            break
        kept += chunk
    try:
        return kept.decode(resp.charset or "utf-8", "replace"), cut
    except LookupError:
        return kept.decode("utf-8", "replace"), cut


def _headers_json(headers: Any) -> str:
    out: dict[str, str] = {}
    for name, value in headers.items():
        out[name] = f"{out[name]}, {value}" if name in out else value
    return msgspec.json.encode(out).decode()


def _extract(ctx: Context, body: str, steps: list[_jsonpath.Step]) -> str:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        ctx.fail("property extract: the response body is not JSON")
        return ""
    values = _jsonpath.select(document, steps)
    if not values:
        return ""
    if len(values) == 1:
        return _jsonpath.value_text(values[0])
    return msgspec.json.encode(values).decode()
