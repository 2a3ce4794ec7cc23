"""``POST /api/v1/runbooks/validate`` (faults with lines), and check-outs raced by two designers."""

from __future__ import annotations

import asyncio
import json

from tests.integration.gateway.conftest import Api, document


def _text(doc: object) -> str:
    return json.dumps(doc, indent=2)


async def test_a_valid_document_has_no_faults(api: Api) -> None:
    status, body = await api.request("POST", "/api/v1/runbooks/validate", body=_text(document()))
    assert status == 200 and body == {"valid": True, "faults": []}


async def test_faults_carry_path_line_and_column(api: Api) -> None:
    doc = document()
    doc["activities"][1]["type"] = "no_such_type"
    text = _text(doc)
    status, body = await api.request("POST", "/api/v1/runbooks/validate", body=text)
    assert status == 200 and body["valid"] is False
    fault = next(f for f in body["faults"] if f["code"] == "unknown-type")
    assert fault["path"] == "$.activities[1].type"
    line = text.splitlines()[fault["line"] - 1]
    assert line[fault["column"] - 1:].startswith('"type": "no_such_type"')
    # the same faults as a check-in's 422
    status, refused = await api.request("POST", "/api/v1/runbooks", body=text)
    assert status == 422
    assert {(f["path"], f["code"]) for f in refused["error"]["faults"]} == \
        {(f["path"], f["code"]) for f in body["faults"]}


async def test_malformed_json_is_a_fault_at_the_syntax_error(api: Api) -> None:
    text = _text(document()).replace('"Hello",', '"Hello"', 1)
    status, body = await api.request("POST", "/api/v1/runbooks/validate", body=text)
    assert status == 200 and body["valid"] is False
    (fault,) = body["faults"]
    assert fault["code"] == "bad-json" and fault["path"] == "$"
    assert fault["line"] == next(i for i, line in enumerate(text.splitlines(), 1)
                                 if '"Hello"' in line) + 1
    for raw, message in ((b"   ", "the document is empty"),
                         (b'{"name": "\xff"}', "the document is not UTF-8 text")):
        status, body = await api.request("POST", "/api/v1/runbooks/validate", body=raw)
        assert status == 200 and body["faults"][0]["message"] == message


async def test_validate_needs_credentials_and_json(api: Api) -> None:
    status, _ = await api.request("POST", "/api/v1/runbooks/validate", token=None,
                                  body=_text(document()))
    assert status == 401
    async with api.http.post(f"{api.url}/api/v1/runbooks/validate", data=b"{}",
                             headers={**api.auth(), "Content-Type": "text/plain"}) as r:
        assert r.status == 415
    status, spec = await api.request("GET", "/api/v1/openapi.json")
    op = spec["paths"]["/api/v1/runbooks/validate"]["post"]
    assert op["operationId"] == "validate_runbook"


async def test_concurrent_check_outs_one_wins_the_other_gets_409(api: Api) -> None:
    created = await api.client.check_in(document())
    bob = await api.make_user("bob", admin=True)
    carol = await api.make_user("carol", admin=True)
    path = f"/api/v1/runbooks/{created.id}/checkout"
    for _ in range(3):
        results = await asyncio.gather(api.request("POST", path, token=bob),
                                       api.request("POST", path, token=carol))
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 409], results
        winner = next(body for status, body in results if status == 200)["checked_out_by"]
        loser = "carol" if winner == "bob" else "bob"
        status, body = next(r for r in results if r[0] == 409)
        assert f"checked out by {winner}" in body["error"]["message"]
        # the loser cannot check in either, the winner can, which releases it
        loser_token = carol if loser == "carol" else bob
        winner_token = bob if loser == "carol" else carol
        status, _ = await api.request("PUT", f"/api/v1/runbooks/{created.id}",
                                      token=loser_token, json_body=document(description=loser))
        assert status == 409
        status, _ = await api.request("PUT", f"/api/v1/runbooks/{created.id}",
                                      token=winner_token, json_body=document(description=winner))
        assert status == 200
        status, body = await api.request("GET", f"/api/v1/runbooks/{created.id}")
        assert body["checked_out_by"] is None
