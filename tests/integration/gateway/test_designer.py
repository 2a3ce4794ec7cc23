"""Check-out and its undo, and diffs between checked-in versions."""

from __future__ import annotations

from tests.integration.gateway.conftest import Api, document

MISSING = "00000000-0000-4000-8000-000000000000"


async def test_check_out_blocks_other_designers_until_released(api: Api) -> None:
    created = await api.client.check_in(document())
    bob = await api.make_user("bob", admin=True)
    status, body = await api.request("POST", f"/api/v1/runbooks/{created.id}/checkout")
    assert status == 200 and body["checked_out_by"] == "admin"
    first_at = body["checked_out_at"]
    status, again = await api.request("POST", f"/api/v1/runbooks/{created.id}/checkout")
    assert status == 200 and again["checked_out_at"] == first_at  # harmless, keeps the time

    for method, path, payload in (
        ("POST", f"/api/v1/runbooks/{created.id}/checkout", None),
        ("DELETE", f"/api/v1/runbooks/{created.id}/checkout", None),
        ("PUT", f"/api/v1/runbooks/{created.id}", document(description="bob's")),
    ):
        status, body = await api.request(method, path, token=bob, json_body=payload)
        assert status == 409, (method, path)
        assert "checked out by admin" in body["error"]["message"]

    # the holder's check-in releases it
    await api.client.check_in_version(created.id, document(description="mine"))
    status, body = await api.request("POST", f"/api/v1/runbooks/{created.id}/checkout",
                                     token=bob)
    assert status == 200 and body["checked_out_by"] == "bob"
    status, body = await api.request("DELETE", f"/api/v1/runbooks/{created.id}/checkout",
                                     token=bob)
    assert status == 200 and body["checked_out_by"] is None and body["checked_out_at"] is None
    status, body = await api.request("DELETE", f"/api/v1/runbooks/{created.id}/checkout")
    assert status == 200 and body["checked_out_by"] is None  # nothing to undo: fine


async def test_check_out_unknown_and_forbidden(api: Api) -> None:
    created = await api.client.check_in(document())
    operator = await api.make_user("operator")
    for method in ("POST", "DELETE"):
        status, _ = await api.request(method, f"/api/v1/runbooks/{MISSING}/checkout")
        assert status == 404
        status, _ = await api.request(method, "/api/v1/runbooks/x/checkout")
        assert status == 404
        status, _ = await api.request(method, f"/api/v1/runbooks/{created.id}/checkout",
                                      token=operator)
        assert status == 404  # no grant: not visible to the operator


async def test_diff_between_versions(api: Api) -> None:
    created = await api.client.check_in(document())
    changed = document(description="second")
    changed["activities"][1]["properties"]["args"] = ["Bye, {start.Name}!"]
    changed["activities"].append({"id": "extra", "type": "compare_values",
                                  "properties": {"value": "a", "op": "equals", "to": "a"}})
    changed["links"].append({"from": "done", "to": "extra"})
    await api.client.check_in_version(created.id, changed)

    status, diff = await api.request("GET", f"/api/v1/runbooks/{created.id}/diff")
    assert status == 200
    assert diff["old_path"] == diff["new_path"] == "/Examples/Hello"
    assert [c["path"] for c in diff["runbook"]] == ["description"]
    assert [a["id"] for a in diff["activities_added"]] == ["extra"]
    assert [a["id"] for a in diff["activities_changed"]] == ["greet"]
    assert diff["activities_changed"][0]["changes"][0]["path"] == "properties.args[0]"
    assert diff["links_added"] == [{"from": "done", "to": "extra", "name": None}]

    status, same = await api.request("GET", f"/api/v1/runbooks/{created.id}/diff",
                                     params={"from": "2", "to": "2"})
    assert status == 200 and same["activities_added"] == [] and same["runbook"] == []
    status, back = await api.request("GET", f"/api/v1/runbooks/{created.id}/diff",
                                     params={"from": "2", "to": "1"})
    assert [a["id"] for a in back["activities_removed"]] == ["extra"]


async def test_diff_failures(api: Api) -> None:
    created = await api.client.check_in(document())
    cases = [
        ({"from": "1", "to": "3"}, 404, "$.to"),
        ({"from": "7"}, 404, "$.from"),
        ({"from": "0"}, 422, "$.from"),
        ({"to": "x"}, 422, "$.to"),
        ({"bogus": "1"}, 422, "$.bogus"),
    ]
    for params, expected, path in cases:
        status, body = await api.request("GET", f"/api/v1/runbooks/{created.id}/diff",
                                         params=params)
        assert status == expected, params
        assert body["error"]["path"] == path, params
    status, _ = await api.request("GET", f"/api/v1/runbooks/{MISSING}/diff")
    assert status == 404
