"""Every route of the route table × every kind of caller.

The routes come from ``orch.gateway.routes.ROUTES``: a route added without a
line in ``SPECS`` fails :func:`test_every_route_is_covered`, so new routes are
covered. Each route is called as: a bad, an expired and a revoked token and no
token (401); an operator without a grant on the object (404 for objects it
cannot see, 403 for system routes, lists without the object); an operator
granted on its own object (allowed for runbook-scoped routes, 403 for system
ones); an admin (allowed). "Allowed" means neither 401, 403 nor 404 (a 409 or
422 of a state conflict is fine) and never a 5xx.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from orch.gateway.routes import ROUTES
from tests.integration.gateway.conftest import ADMIN_TOKEN, Api, document
from tests.unit.importers.sco_xml import export, policy, start

Kind = Literal["object", "list", "system", "self", "own"]
"""``own``: a resource only its creator sees (a designer's test run): others get a 404."""
PUBLIC = {"health", "health_ready", "openapi", "login", "accept_hook", "get_runbook_schema",
          "session_methods", "oidc_start", "oidc_callback"}


@dataclass
class Spec:
    kind: Kind
    path: dict[str, str] = field(default_factory=dict)
    """Path parameter → key of the fixture's objects (``{side}`` replaced by the side)."""
    body: Any = None
    params: dict[str, str] | None = None
    """Query parameters (values resolved like ``path``'s)."""
    content_type: str = "application/json"
    """The body's type: JSON bodies are encoded, others sent as they are (bytes)."""


def _rb(v: str = "") -> dict[str, str]:
    return {"id": "{side}.runbook", **({"v": "1"} if v else {})}


SPECS: dict[str, Spec] = {
    "create_runbook": Spec("object", body="{side}.new_document"),
    "list_runbooks": Spec("list"),
    "update_runbook": Spec("object", _rb(), body="{side}.document"),
    "get_runbook": Spec("object", _rb()),
    "get_runbook_version": Spec("object", _rb("v")),
    "start_job": Spec("object", body="{side}.start"),
    "list_jobs": Spec("list"),
    "get_job": Spec("object", {"id": "{side}.job"}),
    "stop_job": Spec("object", {"id": "{side}.stopjob"}),
    "get_instance": Spec("object", {"id": "{side}.instance"}),
    "import_runbooks": Spec("object", body="{side}.import"),
    "list_folders": Spec("list"),
    "create_folder": Spec("object", body="{side}.new_folder"),
    "get_folder": Spec("object", {"id": "{side}.folder"}),
    "update_folder": Spec("object", {"id": "{side}.sub"}, body={"name": "Renamed"}),
    "delete_folder": Spec("object", {"id": "{side}.empty"}),
    "check_out_runbook": Spec("object", _rb()),
    "undo_check_out_runbook": Spec("object", _rb()),
    "diff_runbook_versions": Spec("object", _rb()),
    "rerun_job": Spec("object", {"id": "{side}.job"}),
    "get_instance_log": Spec("object", {"id": "{side}.instance"}),
    "list_servers": Spec("system"),
    "get_server": Spec("system", {"name": "server"}),
    "list_events": Spec("list"),
    "list_integration_packs": Spec("system"),
    "live": Spec("self"),
    "logout": Spec("self"),
    "me": Spec("self"),
    "create_user": Spec("system", body="new_user"),
    "list_users": Spec("system"),
    "get_user": Spec("system", {"name": "nobody"}),
    "update_user": Spec("system", {"name": "nobody"}, body={"disabled": False}),
    "create_group": Spec("system", body="new_group"),
    "list_groups": Spec("system"),
    "add_group_member": Spec("system", {"name": "group", "user": "nobody"}),
    "remove_group_member": Spec("system", {"name": "group", "user": "nobody"}),
    "create_grant": Spec("system", body={"principal": "user:nobody", "target": "/Secret",
                                         "rights": ["view"]}),
    "list_grants": Spec("system"),
    "revoke_grant": Spec("system", {"id": "spare_grant"}),
    "create_token": Spec("self", body={"name": "mine"}),
    "create_user_token": Spec("system", {"name": "nobody"}, body={"name": "theirs"}),
    "list_tokens": Spec("self"),
    "revoke_token": Spec("system", {"id": "spare_token"}),
    "put_variable": Spec("system", {"name": "var"}, body={"value": "x"}),
    "list_variables": Spec("system"),
    "get_variable": Spec("system", {"name": "var"}),
    "delete_variable": Spec("system", {"name": "var"}),
    "put_schedule": Spec("system", {"name": "sched"}, body={}),
    "get_schedule": Spec("self", {"name": "sched"}),
    "list_approvals": Spec("list"),
    "get_approval": Spec("object", {"id": "{side}.approval"}),
    "decide_approval": Spec("object", {"id": "{side}.approval"},
                            body={"decision": "approve"}),
    "get_runbook_servers": Spec("object", _rb()),
    "set_runbook_servers": Spec("object", _rb(), body={"servers": []}),
    "get_folder_servers": Spec("object", {"id": "{side}.folder"}),
    "set_folder_servers": Spec("object", {"id": "{side}.folder"}, body={"servers": []}),
    "drain_server": Spec("system", {"name": "server"}),
    "set_server_maintenance": Spec("system", {"name": "server"}, body={"maintenance": False}),
    "resume_instance": Spec("object", {"id": "{side}.instance"}),
    "validate_runbook": Spec("self", body="granted.document"),
    "disable_runbook": Spec("object", _rb()),
    "enable_runbook": Spec("object", _rb()),
    "import_sco": Spec("object", body="sco_export", params={"folder": "{side}.path"},
                       content_type="application/xml"),
    "list_activity_types": Spec("self"),
    "get_activity_type": Spec("self", {"type": "run_program"}),
    "outline_runbook": Spec("self", body="granted.document"),
    "start_test_run": Spec("object", body="{side}.test"),
    "get_test_run": Spec("own", {"id": "{side}.test_run"}),
    "command_test_run": Spec("own", {"id": "{side}.test_run"}, body={"command": "quit"}),
    "delete_test_run": Spec("own", {"id": "{side}.test_run"}),
}


def test_every_route_is_covered() -> None:
    names = {op.operation_id for op, _ in ROUTES}
    assert {op.operation_id for op, _ in ROUTES if op.public} == PUBLIC
    missing = names - PUBLIC - set(SPECS)
    assert not missing, f"routes without a permission spec: {sorted(missing)}"
    assert not set(SPECS) - names, "specs of routes that do not exist"


async def _objects(api: Api, side: str, folder: str) -> dict[str, Any]:
    """A runbook, a job, an instance, folders and an approval under ``folder``."""
    created = await api.client.check_in(document(name="R", folder=folder))
    job = await api.client.start_job(created.path, {"Name": "x"})
    stop_job = await api.client.start_job(created.path, {"Name": "y"})
    instance = uuid.uuid4()
    approval = uuid.uuid4()
    async with api.pool.acquire() as conn:
        await conn.execute("INSERT INTO instances (id, job_id, status, server) "
                           "VALUES ($1, $2, 'running', NULL)", instance, uuid.UUID(job.id))
        await conn.execute(
            "INSERT INTO approvals (id, run_key, job_id, instance_id, runbook_id, runbook_path,"
            " activity, message, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 'ask', 'ok?',"
            " now() + interval '1 hour')",
            approval, f"k-{side}", uuid.UUID(job.id), instance, uuid.UUID(created.id),
            created.path)
    folders = {}
    for name in ("Sub", "Empty"):
        status, body = await api.request("POST", "/api/v1/folders",
                                         json_body={"path": f"{folder}/{name}"})
        assert status == 201
        folders[name] = body["id"]
    status, body = await api.request("GET", "/api/v1/folders", params={"under": folder})
    folder_id = next(f["id"] for f in body["items"] if f["path"] == folder)
    doc = document(name="R", folder=folder)
    test = {"document": doc, "parameters": {"Name": "t"}}
    status, test_run = await api.request("POST", "/api/v1/runbooks/test", json_body=test)
    assert status == 201  # the admin's: nobody else sees it
    return {
        "test": test, "test_run": test_run["id"],
        "runbook": created.id, "job": job.id, "stopjob": stop_job.id,
        "instance": str(instance), "approval": str(approval), "folder": folder_id,
        "sub": folders["Sub"], "empty": folders["Empty"], "document": doc,
        "new_document": document(name="New", folder=folder),
        "start": {"runbook": created.path, "parameters": {"Name": "z"}},
        "import": {"documents": [document(name="Imported", folder=folder)]},
        "path": folder,
        "new_folder": {"path": f"{folder}/Created"},
    }


def _resolve(value: Any, objects: dict[str, Any], side: str) -> Any:
    if not isinstance(value, str):
        return value
    key = value.replace("{side}", side)
    if "." in key:
        first, rest = key.split(".", 1)
        return objects[first][rest]
    return objects.get(key, value)


async def test_route_matrix(api: Api) -> None:
    granted = await _objects(api, "granted", "/Granted")
    secret = await _objects(api, "secret", "/Secret")
    operator = await api.make_user("operator")
    stranger = await api.make_user("stranger")
    nobody = await api.make_user("nobody")
    del nobody
    for principal, target, rights in (
        ("user:operator", "/Granted", ["view", "start", "stop", "design"]),
        ("user:stranger", "/Granted", ["view"]),
    ):
        status, _ = await api.request("POST", "/api/v1/grants", json_body={
            "principal": principal, "target": target, "rights": rights})
        assert status == 201
    status, spare = await api.request("POST", "/api/v1/grants", json_body={
        "principal": "user:nobody", "target": "/Other", "rights": ["view"]})
    status, token = await api.request("POST", "/api/v1/users/nobody/tokens",
                                      json_body={"name": "spare"})
    assert status == 201
    status, _ = await api.request("POST", "/api/v1/groups", json_body={"name": "group"})
    assert status == 201
    status, _ = await api.request("PUT", "/api/v1/variables/var", json_body={"value": "v"})
    assert status == 201
    status, _ = await api.request("PUT", "/api/v1/schedules/sched", json_body={})
    assert status == 201
    async with api.pool.acquire() as conn:
        await conn.execute("INSERT INTO servers (name, status, capacity) VALUES "
                           "('server', 'up', 10)")
    objects: dict[str, Any] = {
        "granted": granted, "secret": secret, "spare_grant": spare["id"],
        "spare_token": token["id"], "server": "server", "nobody": "nobody",
        "group": "group", "var": "var", "sched": "sched",
        "new_user": {"name": "fresh"}, "new_group": {"name": "fresh-group"},
        "sco_export": export(policy("FromSco", start())),
    }
    expired = await api.make_user("old", admin=True, expires_in="-1 hour")
    revoked = await api.make_user("gone", admin=True, revoked=True)
    disabled = await api.make_user("off", admin=True, disabled=True)

    def request_for(op: Any, spec: Spec, side: str) -> tuple[str, Any, dict[str, str] | None]:
        path = op.path
        for name, key in spec.path.items():
            path = path.replace("{" + name + "}", str(_resolve(key, objects, side)))
        body = _resolve(spec.body, objects, side)
        if body is None and op.body is not None:
            body = {}
        params = (None if spec.params is None else
                  {k: str(_resolve(v, objects, side)) for k, v in spec.params.items()})
        return path, body, params

    failures: list[str] = []

    async def call(label: str, op: Any, side: str, token: str | None,
                   ok: Any) -> tuple[int, Any]:
        path, body, params = request_for(op, SPECS[op.operation_id], side)
        spec = SPECS[op.operation_id]
        if spec.content_type == "application/json":
            status, answer = await api.request(op.method, path, token=token, json_body=body,
                                               params=params)
        else:
            status, answer = await api.request(op.method, path, token=token, body=body,
                                               params=params, content_type=spec.content_type)
        if status >= 500 or not ok(status):
            failures.append(f"{op.operation_id} as {label}: {status} {answer}")
        return status, answer

    def allowed(s: int) -> bool:
        return s not in (401, 403, 404)

    for op, _ in ROUTES:
        if op.public:
            continue
        spec = SPECS[op.operation_id]
        for label, token in (("bad token", "orch_wrong"), ("expired", expired),
                             ("revoked", revoked), ("disabled", disabled), ("none", None)):
            await call(label, op, "secret", token, lambda s: s == 401)
        if spec.kind == "object":
            await call("operator without grant", op, "secret", operator, lambda s: s == 404)
            await call("operator with view only", op, "granted", stranger,
                       lambda s, op=op: allowed(s) if op.method == "GET" else s == 403)
            await call("operator with grant", op, "granted", operator, allowed)
        elif spec.kind == "system":
            await call("operator", op, "granted", operator, lambda s: s == 403)
        elif spec.kind == "list":
            status, answer = await call("operator", op, "granted", operator, allowed)
            text = msgspec.json.encode(answer).decode()
            for key in ("runbook", "job", "folder", "approval"):
                if secret[key] in text:
                    failures.append(f"{op.operation_id}: secret {key} listed to the operator")
            if op.operation_id == "list_runbooks":
                assert granted["runbook"] in text
        elif spec.kind == "own":
            await call("operator (not the owner)", op, "granted", operator, lambda s: s == 404)
        else:
            await call("operator", op, "granted", operator, allowed)
        await call("admin", op, "secret", ADMIN_TOKEN, allowed)
    assert not failures, "\n".join(failures)
