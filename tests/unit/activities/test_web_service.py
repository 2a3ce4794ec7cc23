"""invoke_web_service against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from activities.web import invoke_web_service
from orch.sdk import Context, InstanceInfo, convert_inputs
from orch.sdk.testing import run_activity


class Server:
    def __init__(self) -> None:
        self.url = ""
        self.requests: list[dict[str, object]] = []
        self.slow_started = asyncio.Event()
        self.slow_cancelled = asyncio.Event()


SERVER = web.AppKey("server", Server)


async def _echo(request: web.Request) -> web.Response:
    server: Server = request.app[SERVER]
    body = await request.text()
    server.requests.append(
        {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": dict(request.headers),
            "body": body,
        }
    )
    return web.json_response(
        {"method": request.method, "body": body, "items": [{"id": 1}, {"id": 2}]},
        headers={"X-Reply": "yes"},
    )


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status body")


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/echo")


async def _big(request: web.Request) -> web.Response:
    return web.Response(text="x" * 5000)


async def _text(request: web.Request) -> web.Response:
    return web.Response(text="plain, not json", content_type="text/plain")


async def _slow(request: web.Request) -> web.Response:
    server: Server = request.app[SERVER]
    server.slow_started.set()
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        server.slow_cancelled.set()
        raise
    return web.Response(text="late")


async def _auth(request: web.Request) -> web.Response:
    return web.json_response({"authorization": request.headers.get("Authorization", "")})


@pytest_asyncio.fixture(loop_scope="function")
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app[SERVER] = state
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/status/{code}", _status)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/big", _big)
    app.router.add_get("/text", _text)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/auth", _auth)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_get_publishes_status_headers_body(server: Server) -> None:
    r = await run_activity(invoke_web_service, {"url": f"{server.url}/echo"})
    assert r.status == "success", r.error
    (item,) = r.items
    assert item["StatusCode"] == "200"
    assert json.loads(item["ResponseBody"])["method"] == "GET"
    headers = json.loads(item["ResponseHeaders"])
    assert headers["X-Reply"] == "yes"
    assert headers["Content-Type"].startswith("application/json")
    assert item["Extracted"] == ""


async def test_post_with_headers_query_body_and_extract(server: Server) -> None:
    r = await run_activity(
        invoke_web_service,
        {
            "url": f"{server.url}/echo",
            "method": "post",
            "headers": {"X-Token": "abc"},
            "query": {"q": "a b&c"},
            "body": '{"name": "orch"}',
            "content_type": "application/json",
            "extract": "$.items[*].id",
        },
    )
    assert r.status == "success", r.error
    seen = server.requests[-1]
    assert seen["method"] == "POST"
    assert seen["query"] == {"q": "a b&c"}
    assert seen["body"] == '{"name": "orch"}'
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["X-Token"] == "abc"
    assert headers["Content-Type"] == "application/json"
    assert r.items[0]["Extracted"] == "[1,2]"
    r = await run_activity(
        invoke_web_service, {"url": f"{server.url}/echo", "extract": "$.items[0].id"}
    )
    assert r.items[0]["Extracted"] == "1"


async def test_unexpected_status_fails_but_publishes(server: Server) -> None:
    r = await run_activity(invoke_web_service, {"url": f"{server.url}/status/404"})
    assert (r.status, r.error) == ("failed", "HTTP status 404 (expected 2xx)")
    assert r.items[0]["StatusCode"] == "404"
    assert r.items[0]["ResponseBody"] == "status body"
    r = await run_activity(
        invoke_web_service,
        {"url": f"{server.url}/status/404", "expected_status": ["200", "404"]},
    )
    assert r.status == "success"
    r = await run_activity(
        invoke_web_service, {"url": f"{server.url}/status/201", "expected_status": [200]}
    )
    assert (r.status, r.error) == ("failed", "HTTP status 201 (expected 200)")


async def test_redirects(server: Server) -> None:
    r = await run_activity(invoke_web_service, {"url": f"{server.url}/redirect"})
    assert r.items[0]["StatusCode"] == "200"
    r = await run_activity(
        invoke_web_service,
        {"url": f"{server.url}/redirect", "follow_redirects": False, "expected_status": [302]},
    )
    assert r.status == "success"
    assert json.loads(r.items[0]["ResponseHeaders"])["Location"] == "/echo"


async def test_body_is_capped_with_a_warning(server: Server) -> None:
    r = await run_activity(
        invoke_web_service, {"url": f"{server.url}/big", "max_response_bytes": 100}
    )
    assert (r.status, r.error) == ("warning", "response body cut at 100 bytes")
    assert r.items[0]["ResponseBody"] == "x" * 100


async def test_extract_from_a_body_that_is_not_json(server: Server) -> None:
    r = await run_activity(invoke_web_service, {"url": f"{server.url}/text", "extract": "$.a"})
    assert (r.status, r.error) == ("failed", "property extract: the response body is not JSON")
    assert r.items[0]["ResponseBody"] == "plain, not json"


async def test_basic_and_bearer_auth(server: Server) -> None:
    r = await run_activity(
        invoke_web_service,
        {"url": f"{server.url}/auth", "username": "ann", "password": "s3cret", "extract": "$.*"},
    )
    expected = "Basic " + base64.b64encode(b"ann:s3cret").decode()
    assert r.items[0]["Extracted"] == expected
    r = await run_activity(
        invoke_web_service,
        {"url": f"{server.url}/auth", "bearer_token": "tok", "extract": "$.authorization"},
    )
    assert r.items[0]["Extracted"] == "Bearer tok"


async def test_own_timeout(server: Server) -> None:
    r = await run_activity(
        invoke_web_service, {"url": f"{server.url}/slow", "timeout_seconds": 0.3}
    )
    assert (r.status, r.error) == ("failed", "no complete response from 127.0.0.1 within 0.3 s")


async def test_cancellation_closes_the_connection(server: Server) -> None:
    ctx = Context(InstanceInfo(), "w", "w", "run-1")
    inputs = convert_inputs(invoke_web_service, {"url": f"{server.url}/slow"})
    task = asyncio.create_task(invoke_web_service.fn(ctx, inputs))
    await asyncio.wait_for(server.slow_started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the server sees the client go away and cancels its handler
    await asyncio.wait_for(server.slow_cancelled.wait(), 10)


async def test_connection_refused() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = await run_activity(invoke_web_service, {"url": f"http://127.0.0.1:{port}/"})
    assert r.status == "failed"
    assert (r.error or "").startswith(f"cannot connect to 127.0.0.1:{port}:")


@pytest.mark.parametrize(
    ("props", "error"),
    [
        ({"url": "ftp://x/y"}, "property url: an http:// or https:// address is required: ftp://x/y"),
        ({"url": "http://127.0.0.1/", "method": "GE T"},
         "property method: 'GE T' is not an HTTP method"),
        ({"url": "http://127.0.0.1/", "headers": {"Bad:Name": "x"}},
         "property headers: invalid header 'Bad:Name'"),
        ({"url": "http://127.0.0.1/", "timeout_seconds": 0},
         "property timeout_seconds: must be greater than 0"),
        ({"url": "http://127.0.0.1/", "extract": "$["},
         "property extract: unclosed '[' at position 2 of JSON path '$['"),
        ({"url": "http://127.0.0.1/", "username": "a", "bearer_token": "t"},
         "property bearer_token: give either a token or a user name"),
        ({}, "property url is required"),
    ],
)  # fmt: skip
async def test_bad_inputs(props: dict[str, object], error: str) -> None:
    r = await run_activity(invoke_web_service, props)
    assert (r.status, r.error) == ("failed", error)
