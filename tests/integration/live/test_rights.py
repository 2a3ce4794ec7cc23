"""The live feed filtered by rights: an operator's ``all`` shows granted runbooks only."""

from __future__ import annotations

from tests.integration.gateway.conftest import ADMIN_TOKEN, document
from tests.integration.live.conftest import Gateway


async def _operator(gw: Gateway, name: str, target: str) -> str:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with gw.http.post(f"{gw.url}/api/v1/users", json={"name": name}, headers=auth) as r:
        assert r.status == 201
    async with gw.http.post(f"{gw.url}/api/v1/users/{name}/tokens", json={"name": "t"},
                            headers=auth) as r:
        assert r.status == 201
        token = (await r.json())["token"]
    async with gw.http.post(f"{gw.url}/api/v1/grants",
                            json={"principal": f"user:{name}", "target": target,
                                  "rights": ["view"]},
                            headers=auth) as r:
        assert r.status == 201
    return token


async def test_all_subscription_shows_granted_runbooks_only(gateways) -> None:  # type: ignore[no-untyped-def]
    gw = await gateways()
    granted = await gw.client.check_in(document(name="A", folder="/Granted"))
    secret = await gw.client.check_in(document(name="B", folder="/Secret"))
    token = await _operator(gw, "operator", "/Granted")
    admin = await gw.socket()
    operator = await gw.socket(token)
    await admin.subscribe(all=True)
    await operator.subscribe(all=True)
    hidden = await gw.client.start_job(secret.path, {"Name": "x"})
    shown = await gw.client.start_job(granted.path, {"Name": "y"})
    seen_by_admin = await admin.events_until(
        lambda evs: any(e["job_id"] == shown.id for e in evs))
    assert any(e["job_id"] == hidden.id for e in seen_by_admin)
    # the granted job's event comes after the secret one: once the operator has it, any
    # event of the secret runbook would have arrived before it
    seen = await operator.events_until(lambda evs: any(e["job_id"] == shown.id for e in evs))
    assert all(e["runbook_id"] == granted.id for e in seen), seen
    # a replay of history is filtered the same way
    await operator.send({"subscribe": {"all": True, "after": 0, "id": "again"}})
    frame = await operator.frame()
    assert frame["type"] == "subscribed"
    seen = await operator.events_until(lambda evs: any(e["job_id"] == shown.id for e in evs))
    assert all(e["runbook_id"] == granted.id for e in seen), seen
    # following an ungranted runbook or job directly: not found
    for spec in ({"runbook": secret.id}, {"job": hidden.id}):
        await operator.send({"subscribe": spec})
        frame = await operator.frame()
        assert frame["type"] == "error" and frame["error"]["code"] == "not-found", frame
