"""Membership refresh, removed and disabled users, a directory that is down or silent,
failover, several gateways, and the live feed — with a real slapd each test may change.

The refresh window is crossed by moving orch's clock (test_clock), never by sleeping.
"""

from __future__ import annotations

import asyncio

import aiohttp

from orch.gateway.live.directory_watch import DIRECTORY_WATCH
from tests.integration.directory.conftest import ADMIN_TOKEN, DirGateway, document
from tests.integration.directory.slapd import PASSWORDS, Slapd, free_port, people_dn

WINDOW = 60.0


async def _visible(gw: DirGateway, token: str) -> set[str]:
    status, body = await gw.request("GET", "/api/v1/runbooks", token=token)
    assert status == 200, body
    return {r["path"] for r in body["items"]}


async def _signed_in(gw: DirGateway, name: str) -> tuple[str, object]:
    status, me, session = await gw.login(name, PASSWORDS[name])
    assert status == 200, me
    assert session is not None
    return await gw.token_of(session), session


async def test_changed_membership_is_read_again_after_the_window(
    ldap_gateway, own_directory: Slapd
) -> None:
    gw = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    ops = (await gw.client.check_in(document(folder="/Ops"))).path
    dev = (await gw.client.check_in(document(folder="/Dev"))).path
    assert (await gw.grant("group:ops", "/Ops"))[0] == 201
    assert (await gw.grant("group:devs", "/Dev"))[0] == 201
    token, _ = await _signed_in(gw, "alice")
    own_directory.remove_member("ops", "alice")
    own_directory.add_member("devs", "alice")
    # within the window: the groups read at sign-in, no directory round trip
    await gw.move_clock(WINDOW - 5)
    assert await _visible(gw, token) == {ops}
    assert await gw.audit("directory membership refreshed") == []
    # past it: read again, once
    await gw.move_clock(WINDOW + 1)
    assert await _visible(gw, token) == {dev}
    _, me = await gw.request("GET", "/api/v1/me", token=token)
    now = ["devs", "engineering"]  # devs is nested in engineering
    assert me["groups"] == now and me["directory"]["groups"] == now
    [refreshed] = await gw.audit("directory membership refreshed")
    assert refreshed["target"] == "user:alice"
    assert refreshed["data"]["added"] == now and refreshed["data"]["removed"] == ["ops"]


async def test_several_gateways_share_the_refreshed_membership(
    ldap_gateway, own_directory: Slapd
) -> None:
    one = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    two = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    token, _ = await _signed_in(one, "alice")
    await one.move_clock(WINDOW + 1)
    assert (await one.request("GET", "/api/v1/me", token=token))[0] == 200
    assert (await two.request("GET", "/api/v1/me", token=token))[0] == 200
    assert len(await one.audit("directory membership refreshed")) == 1


async def test_admin_group_removal_takes_admin_away(ldap_gateway, own_directory: Slapd) -> None:
    gw = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    token, _ = await _signed_in(gw, "carol")
    assert (await gw.request("GET", "/api/v1/users", token=token))[0] == 200
    own_directory.remove_member("orch-admins", "carol")
    await gw.move_clock(WINDOW + 1)
    assert (await gw.request("GET", "/api/v1/users", token=token))[0] == 403
    status, me = await gw.request("GET", "/api/v1/me", token=token)
    assert status == 200 and not me["is_admin"] and me["groups"] == []


async def test_token_of_a_removed_user_is_refused(ldap_gateway, own_directory: Slapd) -> None:
    gw = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    token, session = await _signed_in(gw, "bob")
    own_directory.delete(people_dn("bob"))
    assert (await gw.request("GET", "/api/v1/me", token=token))[0] == 200  # within the window
    await gw.move_clock(WINDOW + 1)
    status, body = await gw.request("GET", "/api/v1/me", token=token)
    assert status == 401 and body["error"]["code"] == "directory-user-gone", body
    [removed] = await gw.audit("directory user removed")
    assert removed["target"] == "user:bob" and removed["data"]["active"] is False
    # its sessions ended; its token stays refused without asking the directory again
    assert (await gw.request("GET", "/api/v1/me", session=session))[0] == 401
    own_directory.stop()
    assert (await gw.request("GET", "/api/v1/me", token=token))[0] == 401
    status, _, _ = await gw.login("bob", PASSWORDS["bob"])
    assert status == 503


async def test_user_disabled_in_the_directory_loses_access(
    ldap_gateway, own_directory: Slapd
) -> None:
    gw = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    token, _ = await _signed_in(gw, "alice")
    own_directory.ldap("ldapmodify", f"dn: {people_dn('alice')}\nchangetype: modify\n"
                                     "add: objectClass\nobjectClass: orchTestAccount\n-\n"
                                     "add: userAccountControl\nuserAccountControl: 514\n")
    await gw.move_clock(WINDOW + 1)
    status, body = await gw.request("GET", "/api/v1/me", token=token)
    assert status == 401 and body["error"]["code"] == "directory-user-gone"
    assert [a["target"] for a in await gw.audit("directory user disabled")] == ["user:alice"]
    status, _, _ = await gw.login("alice", PASSWORDS["alice"])
    assert status == 401


async def test_directory_down(ldap_gateway, own_directory: Slapd) -> None:
    gw = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    token, session = await _signed_in(gw, "alice")
    own_directory.stop()
    # directory users cannot sign in: 503 naming the directory
    status, body, _ = await gw.login("alice", PASSWORDS["alice"])
    assert status == 503 and body["error"]["code"] == "directory-unavailable"
    assert own_directory.url in body["error"]["message"]
    # the local admin can; existing tokens and sessions keep working within the window
    status, me, _ = await gw.login("admin", "test-password")
    assert status == 200 and me["is_admin"]
    assert (await gw.request("GET", "/api/v1/runbooks"))[0] == 200
    assert (await gw.request("GET", "/api/v1/me", token=token))[0] == 200
    assert (await gw.request("GET", "/api/v1/me", session=session))[0] == 200
    # past the window the last known groups are no longer trusted: refused, naming it
    await gw.move_clock(WINDOW + 1)
    for auth in ({"token": token}, {"session": session}):
        status, body = await gw.request("GET", "/api/v1/me", **auth)  # type: ignore[arg-type]
        assert status == 503, body
        assert own_directory.url in body["error"]["message"]
    assert (await gw.request("GET", "/api/v1/me"))[0] == 200  # the local admin's token
    # back up: the refresh succeeds and the user is in again
    own_directory.start()
    status, body = await gw.request("GET", "/api/v1/me", token=token)
    assert status == 200, body
    assert (await gw.request("GET", "/api/v1/me", session=session))[0] == 200


async def _silent_server() -> tuple[asyncio.Server, int]:
    """A TCP server that accepts and never answers: a hung directory."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_silent_directory_times_out_and_failover_uses_the_next(
    ldap_gateway, directory: Slapd
) -> None:
    server, port = await _silent_server()
    async with server:
        silent = f"ldap://127.0.0.1:{port}"
        gw = await ldap_gateway(directory, ldap_url=(silent,), ldap_timeout_seconds=1.0)
        status, body, _ = await gw.login("alice", PASSWORDS["alice"])
        assert status == 503 and silent in body["error"]["message"], body
        # the gateway kept serving meanwhile, and serves now
        assert (await gw.request("GET", "/api/v1/me"))[0] == 200
        # failover: a silent server, a closed port, then the real one
        closed = f"ldap://127.0.0.1:{free_port()}"
        gw = await ldap_gateway(directory, ldap_url=(silent, closed, directory.url),
                                ldap_timeout_seconds=1.0)
        status, me, _ = await gw.login("alice", PASSWORDS["alice"])
        assert status == 200 and me["groups"] == ["ops"], me


async def test_the_live_feed_applies_directory_groups(ldap_gateway, directory: Slapd) -> None:
    gw = await ldap_gateway(directory)
    ops = await gw.client.check_in(document(name="A", folder="/Ops"))
    secret = await gw.client.check_in(document(name="B", folder="/Secret"))
    assert (await gw.grant("group:ops", "/Ops", "view"))[0] == 201
    token, _ = await _signed_in(gw, "alice")
    alice = await gw.socket(token)
    await alice.subscribe(all=True)
    hidden = await gw.client.start_job(secret.path, {"Name": "x"})
    shown = await gw.client.start_job(ops.path, {"Name": "y"})
    seen = await alice.events_until(lambda evs: any(e["job_id"] == shown.id for e in evs))
    assert all(e["runbook_id"] == ops.id for e in seen), seen
    assert all(e["job_id"] != hidden.id for e in seen)
    for spec in ({"runbook": secret.id}, {"job": hidden.id}):
        await alice.send({"subscribe": spec})
        frame = await alice.frame()
        assert frame["type"] == "error" and frame["error"]["code"] == "not-found", frame
    await alice.ws.close()


async def test_live_subscriptions_check_the_directory_user_again(
    ldap_gateway, own_directory: Slapd
) -> None:
    gw = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    ops = await gw.client.check_in(document(name="A", folder="/Ops"))
    dev = await gw.client.check_in(document(name="B", folder="/Dev"))
    assert (await gw.grant("group:ops", "/Ops", "view"))[0] == 201
    assert (await gw.grant("group:devs", "/Dev", "view"))[0] == 201
    token, _ = await _signed_in(gw, "alice")
    alice = await gw.socket(token)
    await alice.subscribe(runbook=ops.id)
    own_directory.remove_member("ops", "alice")
    own_directory.add_member("devs", "alice")
    await gw.move_clock(WINDOW + 1)
    # the socket outlived the window: its next subscription reads the directory again
    await alice.send({"subscribe": {"runbook": ops.id, "id": "ops-again"}})
    frame = await alice.frame()
    assert frame["type"] == "error" and frame["error"]["code"] == "not-found", frame
    await alice.subscribe(runbook=dev.id)
    assert len(await gw.audit("directory membership refreshed")) == 1
    # removed from the directory: subscriptions are refused
    own_directory.delete(people_dn("alice"))
    await gw.move_clock(2 * WINDOW + 2)
    await alice.send({"subscribe": {"all": True, "id": "all"}})
    frame = await alice.frame()
    assert frame["type"] == "error" and frame["error"]["code"] == "directory-user-gone", frame
    await alice.ws.close()


async def test_open_sockets_of_a_removed_user_are_closed(
    ldap_gateway, own_directory: Slapd
) -> None:
    gw = await ldap_gateway(own_directory, ldap_refresh_seconds=WINDOW)
    watch = gw.app[DIRECTORY_WATCH]
    assert watch.interval == WINDOW / 4
    token, _ = await _signed_in(gw, "alice")
    alice = await gw.socket(token)
    await alice.subscribe(all=True)
    admin = await gw.socket(ADMIN_TOKEN)
    await admin.subscribe(all=True)
    own_directory.delete(people_dn("alice"))
    assert await watch.check_once() == 0  # within the window: the directory is not asked
    await gw.move_clock(WINDOW + 1)
    assert await watch.check_once() == 1
    msg = await alice.ws.receive(timeout=15)
    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1008
    assert msg.extra == "directory-user-gone"
    assert [a["target"] for a in await gw.audit("directory user removed")] == ["user:alice"]
    # the local admin's socket is untouched
    assert await watch.check_once() == 0
    assert not admin.ws.closed
    await admin.ws.close()
