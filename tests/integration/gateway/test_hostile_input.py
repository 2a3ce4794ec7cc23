"""Hostile input over every route of the OpenAPI document: never a 5xx, always the error shape.

The walk reads ``GET /api/v1/openapi.json`` (so a route added later is walked
too, the SCO importer's XML route included when it appears) and sends, with the
admin's token so authorization does not hide the handlers:

- to every route that takes a body: a fixed set of hostile bodies (nesting 65,
  1,000 and 5,000 levels deep as arrays and as objects, invalid UTF-8, huge
  numbers, NaN and Infinity, truncated JSON, 100,000 keys, wrong types, empty,
  the wrong content type, an XML document with a DTD and entities);
- to every query parameter and every path parameter: a fixed set of hostile
  values (NUL, bad percent-encoding, huge and non-numbers, traversal, long text).

Each answer must be a 4xx with ``{"error": {"code", "message", "path"}}`` (a
query or path value may also be acceptable: then any non-5xx), and
``/health`` must still answer 200 afterwards. Bounded: a few hundred requests.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

from tests.integration.gateway.conftest import Api, document

MISSING = "00000000-0000-4000-8000-000000000000"

_JSON = "application/json"
_XML = "application/xml"

XML_BOMB = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b"<Policy><Name>&lol3;&xxe;</Name></Policy>"
)


def _deep_arrays(n: int) -> bytes:
    return b"[" * n + b"]" * n


def _deep_objects(n: int) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n


def _many_keys(n: int) -> bytes:
    return b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(n)) + b"}"


HOSTILE_BODIES: tuple[tuple[str, bytes, str | None], ...] = (
    ("arrays 65 deep", _deep_arrays(65), _JSON),
    ("arrays 1,000 deep", _deep_arrays(1_000), _JSON),
    ("arrays 5,000 deep", _deep_arrays(5_000), _JSON),
    ("objects 1,000 deep", _deep_objects(1_000), _JSON),
    ("objects 5,000 deep", _deep_objects(5_000), _JSON),
    ("unterminated 5,000 deep", b"[" * 5_000, _JSON),
    ("invalid UTF-8", b'{"name": "\xff\xfe\xc3(", "folder": "/x"}', _JSON),
    ("lone surrogate", b'{"name": "\\ud800"}', _JSON),
    ("huge integer", b'{"name": 1' + b"0" * 5_000 + b"}", _JSON),
    ("integer past 64 bits", b'{"limit": 18446744073709551616, "a": [-9223372036854775809]}',
     _JSON),
    ("huge float", b'{"name": 1e400}', _JSON),
    ("NaN", b'{"name": NaN}', _JSON),
    ("Infinity", b"[-Infinity]", _JSON),
    ("truncated", b'{"name": "x", "folder": "/a", "activities": [1, 2', _JSON),
    ("100,000 keys", _many_keys(100_000), _JSON),
    ("wrong types", b'{"name": 5, "folder": [], "runbook": {}, "password": false, "path": 1}',
     _JSON),
    ("a list", b'[1, "two", null]', _JSON),
    ("a string", b'"text"', _JSON),
    ("empty", b"", _JSON),
    ("wrong content type", b'{"name": "x"}', "text/plain"),
    ("no content type", b'{"name": "x"}', None),
    ("XML with a DTD and entities", XML_BOMB, _XML),
)

HOSTILE_VALUES: tuple[str, ...] = (
    "%00",  # NUL
    "%ff%fe",  # not UTF-8
    "%ed%a0%80",  # a lone surrogate, UTF-8 encoded
    "1" + "0" * 5_000,  # huge number
    "-1",
    "NaN",
    "1e400",
    "..%2F..%2Fetc",  # traversal, encoded
    "'%20OR%201%3D1--",  # SQL metacharacters
    "x" * 2_000,  # long text
)


def _error_shape(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return False
    error = body["error"]
    return (
        isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and "path" in error
    )


async def _send(api: Api, method: str, url: str, data: bytes | None,
                content_type: str | None) -> tuple[int, Any, str]:
    headers = api.auth()
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with api.http.request(method, url, data=data, headers=headers) as resp:
        text = await resp.text(errors="replace")
        body: Any = None
        if resp.content_type == "application/json" and text:
            body = json.loads(text)
        return resp.status, body, text


class Fixtures:
    """Real entities so the handlers get past their lookups to the input they decode."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def fill(self, path: str) -> str:
        def one(m: re.Match[str]) -> str:
            name = m[1]
            before = path[: m.start()].rstrip("/").rsplit("/", 1)[-1]
            return self.values.get(f"{before}.{name}", self.values.get(name, MISSING))

        return re.sub(r"\{(\w+)\}", one, path)


async def _fixtures(api: Api) -> Fixtures:
    status, created = await api.request("POST", "/api/v1/runbooks", json_body=document())
    assert status == 201, created
    runbook_id = created["id"]
    status, job = await api.request("POST", "/api/v1/jobs",
                                    json_body={"runbook": runbook_id, "parameters": {"Name": "x"}})
    assert status == 201, job
    status, folders = await api.request("GET", "/api/v1/folders")
    assert status == 200, folders
    folder_id = next(f["id"] for f in folders["items"] if f["path"] == "/Examples")
    return Fixtures({
        "runbooks.id": runbook_id,
        "runbook_id": runbook_id,
        "jobs.id": job["id"],
        "folders.id": folder_id,
        "users.name": "admin",
        "groups.name": "admins",
        "user": "admin",
        "v": "1",
        "name": "hostile",
    })


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, entry)
        for path, methods in spec["paths"].items()
        for method, entry in methods.items()
        if "x-websocket" not in entry
    ]


def _takes_xml(entry: dict[str, Any]) -> bool:
    content = entry.get("requestBody", {}).get("content", {})
    return any("xml" in kind for kind in content)


async def _health(api: Api) -> None:
    async with api.http.get(f"{api.url}/health") as resp:
        assert resp.status == 200, await resp.text()


async def test_hostile_bodies_on_every_route_are_4xx_with_the_error_shape(api: Api) -> None:
    fixtures = await _fixtures(api)
    spec = await api.client.openapi()
    walked = xml_walked = 0
    failures: list[str] = []
    for method, path, entry in _operations(spec):
        if "requestBody" not in entry:
            continue
        url = f"{api.url}{fixtures.fill(path)}"
        if entry.get("parameters") and any(p["name"] == "folder" and p["in"] == "query"
                                           and p.get("required") for p in entry["parameters"]):
            url += "?folder=/Hostile"
        validate = entry["operationId"] == "validate_runbook"
        for label, data, content_type in HOSTILE_BODIES:
            if _takes_xml(entry) and content_type == _JSON:
                content_type = _XML  # the XML route gets the same bytes as XML
            status, body, text = await _send(api, method, url, data, content_type)
            walked += 1
            if validate and status == 200:
                # validate answers text it can read with located faults (its contract).
                if body is None or body.get("valid") is not False or not body.get("faults"):
                    failures.append(f"{method} {path} [{label}]: 200 without faults: {text[:200]}")
                continue
            if not 400 <= status < 500 or not _error_shape(body):
                failures.append(f"{method} {path} [{label}]: {status} {text[:200]}")
            elif _takes_xml(entry) and data is XML_BOMB and body["error"]["code"] != (
                    "forbidden-xml"):
                failures.append(f"{method} {path} [{label}]: not refused as XML: {text[:200]}")
            xml_walked += _takes_xml(entry) and data is XML_BOMB
        await _health(api)
    assert walked >= 300, walked  # every body route of the table was walked
    assert xml_walked == sum(_takes_xml(e) for _, _, e in _operations(spec))
    assert not failures, "\n".join(failures)


async def test_login_limits_apply_before_any_password_is_checked(api: Api) -> None:
    from orch.gateway import MAX_BODY_BYTES
    from orch.gateway.bodies import ROUTE_MAX_BYTES

    def login(password_bytes: int) -> bytes:
        return b'{"name": "admin", "password": "' + b"x" * password_bytes + b'"}'

    for data, expected, code in (
        (login(MAX_BODY_BYTES), 413, "body-too-large"),  # past the app's limit
        (login(ROUTE_MAX_BYTES["login"]), 413, "body-too-large"),  # past the log-in's own
        (login(1_000) + b"x", 400, "malformed-json"),
        (b'{"name": "admin", "password": ' + _deep_arrays(100) + b"}", 400, "too-deep"),
        (b'{"name": "admin", "password": ' + _deep_arrays(5_000) + b"}", 400, "too-deep"),
    ):
        status, body, text = await _send(api, "POST", f"{api.url}/api/v1/session", data, _JSON)
        assert status == expected, text[:300]
        assert body["error"]["code"] == code
    async with api.pool.acquire() as conn:  # no failed login was counted (no password checked)
        failures = await conn.fetchval(
            "SELECT count(*) FROM audit WHERE action = 'login_failed'")
    assert failures == 0


async def test_hostile_query_and_path_parameters_never_5xx(api: Api) -> None:
    fixtures = await _fixtures(api)
    spec = await api.client.openapi()
    failures: list[str] = []
    walked = 0
    for method, path, entry in _operations(spec):
        params = entry.get("parameters", [])
        base = fixtures.fill(path)
        safe = method == "GET"
        for param in params:
            if param["in"] == "query":
                for value in HOSTILE_VALUES:
                    url = f"{api.url}{base}?{param['name']}={value}"
                    status, body, text = await _send(api, method, url, None, None)
                    walked += 1
                    if status >= 500 or (status >= 400 and body is not None
                                         and not _error_shape(body)):
                        failures.append(f"{method} {path} ?{param['name']}: {status} {text[:200]}")
            elif param["in"] == "path" and (safe or param["name"] != "name"):
                for value in (*HOSTILE_VALUES, "..", ".", quote("a/../../b", safe="")):
                    one = re.sub(r"\{" + param["name"] + r"\}", value, path)
                    url = f"{api.url}{fixtures.fill(one)}"
                    status, body, text = await _send(api, method, url, None, None)
                    walked += 1
                    if status >= 500 or (status >= 400 and body is not None
                                         and not _error_shape(body)):
                        failures.append(f"{method} {path} {{{param['name']}}}={value[:20]}: "
                                        f"{status} {text[:200]}")
        await _health(api)
    assert walked >= 200, walked
    assert not failures, "\n".join(failures)


async def test_duplicate_keys_take_the_last_value(api: Api) -> None:
    """Duplicate keys: the last one wins, as in PostgreSQL's jsonb and the browser's JSON.parse."""
    path = f"/Dup{uuid.uuid4().hex[:6]}"
    status, body, text = await _send(
        api, "POST", f"{api.url}/api/v1/folders",
        b'{"path": "/Ignored", "path": "' + path.encode() + b'"}', _JSON)
    assert status == 201, text
    assert body["path"] == path


async def test_a_refused_body_is_one_warning_line_never_an_error(api: Api) -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        for path in ("/api/v1/jobs", "/api/v1/session", "/api/v1/runbooks"):
            for data in (_deep_arrays(5_000), _deep_arrays(100), b'{"a": [1,'):
                status, _, text = await _send(api, "POST", f"{api.url}{path}", data, _JSON)
                assert status == 400, text
    assert not [e for e in logs if e["log_level"] in ("error", "critical")], logs
    refusals = [e for e in logs if e["event"] == "request refused"]
    assert len(refusals) == 9, logs
    assert {e["log_level"] for e in refusals} == {"warning"}
    assert {(e["route"], e["reason"]) for e in refusals} >= {
        ("/api/v1/jobs", "too-deep"), ("/api/v1/session", "too-deep"),
        ("/api/v1/runbooks", "malformed-json"),
    }
    assert not any("exc_info" in e or "exception" in e for e in refusals)


async def test_hostile_live_messages_get_error_frames_and_the_socket_lives_on(api: Api) -> None:
    url = f"{api.url}/api/v1/live"
    async with api.http.ws_connect(url, headers=api.auth()) as ws:
        for text, code in (
            ("[" * 5_000 + "]" * 5_000, "too-deep"),
            ('{"subscribe": ' + '{"a":' * 100 + "1" + "}" * 100 + "}", "too-deep"),
            ('{"subscribe": {"all": true, "after": 1' + "0" * 30 + "}}", "number-out-of-range"),
            ('{"subscribe": {"all": NaN}}', "malformed-json"),
            ('{"subscribe": {"all": tr', "malformed-json"),
            ('{"subscribe": {"runbook": "/a/../b"}}', "bad-path"),
        ):
            await ws.send_str(text)
            frame = json.loads((await ws.receive(timeout=10)).data)
            assert frame["type"] == "error", (text[:40], frame)
            assert frame["error"]["code"] == code, (text[:40], frame)
        await ws.send_str('{"subscribe": {"all": true, "id": "s"}}')
        frame = json.loads((await ws.receive(timeout=10)).data)
        assert frame["type"] == "subscribed", frame
