"""Permission routes: users, groups and membership, grants, API tokens, variables.

Managing users, groups and grants takes the system right
``manage_permissions`` (granted on ``/``; members of ``admins`` hold it).
Anyone signed in creates, lists and revokes their *own* tokens; another
user's tokens need ``manage_permissions``. A token's secret is returned once,
when it is created; the database keeps its sha256. Variables are written by
holders of ``design`` on ``/``; an encrypted one is stored as Fernet
ciphertext (``orch.crypto``) and read back as ``********``. Every change is
written to the audit log with who, from where and what.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import asyncpg
import msgspec
from aiohttp import web

from orch.api import Operation
from orch.api.security import (
    CreateGrant,
    CreateGroup,
    CreateToken,
    CreateUser,
    GrantList,
    GrantRecord,
    Group,
    GroupList,
    ListGrantsQuery,
    ListTokensQuery,
    NewToken,
    PageQuery,
    PutVariable,
    RevokeGrantQuery,
    TokenInfo,
    TokenList,
    UpdateUser,
    User,
    UserList,
    Variable,
    VariableList,
)
from orch.crypto import KeyRing
from orch.db.bootstrap import hash_password, hash_token, new_token
from orch.document.paths import normalize_path
from orch.gateway.audit import audit
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, path_uuid, read_json, read_query
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import ConflictError, Invalid, NotFoundError
from orch.gateway.external import DIRECTORY, directory_group_exists, known_directory_groups
from orch.gateway.keys import POOL, PRINCIPAL, SETTINGS
from orch.masking import MASK
from orch.sql import Q

__all__ = ["ROUTES", "audit"]

API = "/api/v1"
_NAME = {"name": {"type": "string", "minLength": 1, "maxLength": 100}}
_GROUP_MEMBER = {"name": _NAME["name"], "user": _NAME["name"]}


def _manager(request: web.Request) -> None:
    authorize(request, "manage_permissions", "/")


def _name(request: web.Request, key: str = "name") -> str:
    return request.match_info[key]


# -- users ------------------------------------------------------------------------------

async def _user(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> User:
    row = await conn.fetchrow(Q.security_user, name)
    if row is None:
        raise NotFoundError(f"no user {name!r}")
    return msgspec.convert(dict(row), User)


async def create_user(request: web.Request) -> web.Response:
    body = await read_json(request, CreateUser)
    _manager(request)
    hashed = None if body.password is None else await asyncio.to_thread(
        hash_password, body.password)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        created = await conn.fetchval(Q.security_user_insert, uuid.uuid4(), body.name, hashed)
        if created is None:
            raise ConflictError(f"user {body.name!r} exists", path="$.name")
        for i, group in enumerate(body.groups):
            if not await conn.fetchval(Q.security_member_add, group, body.name) and \
                    await conn.fetchrow(Q.security_group, group) is None:
                raise Invalid(f"no group {group!r}", path=f"$.groups[{i}]",
                              code="unknown-group")
        await audit(conn, request, "user created", f"user:{body.name}",
                    {"groups": body.groups})
        user = await _user(conn, body.name)
    return json_response(user, 201)


async def list_users(request: web.Request) -> web.Response:
    query = read_query(request, PageQuery)
    _manager(request)
    after = decode_cursor(query.cursor, str)
    rows = await request.app[POOL].fetch(Q.security_users_page, after, query.limit + 1)
    items = [msgspec.convert(dict(r), User) for r in rows[: query.limit]]
    nxt = encode_cursor(items[-1].name) if len(rows) > query.limit else None
    return json_response(UserList(items=items, next=nxt))


async def get_user(request: web.Request) -> web.Response:
    name = _name(request)
    if request[PRINCIPAL].name != name:
        _manager(request)
    return json_response(await _user(request.app[POOL], name))


async def update_user(request: web.Request) -> web.Response:
    name = _name(request)
    body = await read_json(request, UpdateUser)
    _manager(request)
    hashed = None if body.password is None else await asyncio.to_thread(
        hash_password, body.password)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await _user(conn, name)
        if hashed is not None:
            await conn.execute(Q.security_user_set_password, name, hashed)
            await audit(conn, request, "password changed", f"user:{name}")
        if body.disabled is not None:
            await conn.execute(Q.security_user_set_disabled, name, body.disabled)
            await audit(conn, request, "user disabled" if body.disabled else "user enabled",
                        f"user:{name}")
        user = await _user(conn, name)
    return json_response(user)


# -- groups -----------------------------------------------------------------------------

async def _group(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> Group:
    row = await conn.fetchrow(Q.security_group, name)
    if row is None:
        raise NotFoundError(f"no group {name!r}")
    return msgspec.convert(dict(row), Group)


async def create_group(request: web.Request) -> web.Response:
    body = await read_json(request, CreateGroup)
    _manager(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        if await conn.fetchval(Q.security_group_insert, uuid.uuid4(), body.name) is None:
            raise ConflictError(f"group {body.name!r} exists", path="$.name")
        await audit(conn, request, "group created", f"group:{body.name}")
        group = await _group(conn, body.name)
    return json_response(group, 201)


async def list_groups(request: web.Request) -> web.Response:
    query = read_query(request, PageQuery)
    _manager(request)
    if request.app[DIRECTORY]:  # the directories' groups listed beside the local ones
        await known_directory_groups(request)
    after = decode_cursor(query.cursor, str)
    rows = await request.app[POOL].fetch(Q.security_groups_page, after, query.limit + 1)
    items = [msgspec.convert(dict(r), Group) for r in rows[: query.limit]]
    nxt = encode_cursor(items[-1].name) if len(rows) > query.limit else None
    return json_response(GroupList(items=items, next=nxt))


async def add_member(request: web.Request) -> web.Response:
    group, user = _name(request), _name(request, "user")
    _manager(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await _group(conn, group)
        await _user(conn, user)
        if await conn.fetchval(Q.security_member_add, group, user):
            await audit(conn, request, "member added", f"group:{group}", {"user": user})
        result = await _group(conn, group)
    return json_response(result)


async def remove_member(request: web.Request) -> web.Response:
    group, user = _name(request), _name(request, "user")
    _manager(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await _group(conn, group)
        await _user(conn, user)
        await conn.execute(Q.security_member_remove, group, user)
        await audit(conn, request, "member removed", f"group:{group}", {"user": user})
        result = await _group(conn, group)
    return json_response(result)


# -- grants -----------------------------------------------------------------------------

async def _principal_id(conn: asyncpg.Connection, ref: str, path: str) -> tuple[str, str]:
    kind, _, name = ref.partition(":")
    found = await conn.fetchval(Q.security_principal_id, kind, name)
    if found is None:
        raise Invalid(f"no {kind} {name!r}", path=path, code="unknown-principal")
    return kind, found


async def create_grant(request: web.Request) -> web.Response:
    body = await read_json(request, CreateGrant)
    _manager(request)
    target = normalize_path(body.target, field="$.target")
    kind, _, name = body.principal.partition(":")
    if (kind == "group" and request.app[DIRECTORY]
            and await request.app[POOL].fetchval(Q.security_principal_id, kind, name) is None):
        # a directory's group: orch learns it here (asked before any transaction is open)
        source = await directory_group_exists(request, name)
        if source is not None:
            await request.app[POOL].execute(Q.directory_groups_ensure, [name], source)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        kind, pid = await _principal_id(conn, body.principal, "$.principal")
        grant_id = await conn.fetchval(Q.security_grant_upsert, uuid.uuid4(), kind, pid,
                                       target, sorted(set(body.rights)))
        await audit(conn, request, "grant", target,
                    {"principal": body.principal, "rights": sorted(set(body.rights))})
        row = await conn.fetchrow(Q.security_grants_page, grant_id, None, None, None, None,
                                  None, 1)
    return json_response(msgspec.convert(dict(row), GrantRecord), 201)


async def list_grants(request: web.Request) -> web.Response:
    query = read_query(request, ListGrantsQuery)
    _manager(request)
    kind, name = (None, None)
    if query.principal is not None:
        kind, _, name = query.principal.partition(":")
    after = decode_cursor(query.cursor, tuple[str, str])
    target = None if query.target is None else normalize_path(query.target, field="$.target")
    rows = await request.app[POOL].fetch(
        Q.security_grants_page, None, kind, name, target,
        after[0] if after else None, uuid.UUID(after[1]) if after else None, query.limit + 1)
    items = [msgspec.convert(dict(r), GrantRecord) for r in rows[: query.limit]]
    nxt = encode_cursor((items[-1].target, items[-1].id)) if len(rows) > query.limit else None
    return json_response(GrantList(items=items, next=nxt))


async def revoke_grant(request: web.Request) -> web.Response:
    grant_id = path_uuid(request)
    query = read_query(request, RevokeGrantQuery)
    _manager(request)
    rights = None
    if query.rights is not None:
        rights = sorted({r.strip() for r in query.rights.split(",") if r.strip()})
    async with request.app[POOL].acquire() as conn, conn.transaction():
        before = await conn.fetchrow(Q.security_grants_page, grant_id, None, None, None, None,
                                     None, 1)
        if before is None:
            raise NotFoundError(f"no grant {grant_id}")
        await conn.fetchval(Q.security_grant_revoke, grant_id, rights)
        await audit(conn, request, "grant revoked", before["target"],
                    {"principal": before["principal"],
                     "rights": rights if rights is not None else list(before["rights"])})
    return web.Response(status=204)


# -- tokens -----------------------------------------------------------------------------

async def _create_token(request: web.Request, user: str) -> web.Response:
    body = await read_json(request, CreateToken)
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise Invalid("expires_at needs a time zone (RFC 3339)", path="$.expires_at")
    secret = new_token()
    async with request.app[POOL].acquire() as conn, conn.transaction():
        token_id = await conn.fetchval(Q.security_token_insert, uuid.uuid4(), user, body.name,
                                       hash_token(secret), body.expires_at)
        if token_id is None:
            raise NotFoundError(f"no user {user!r}")
        await audit(conn, request, "token created", f"user:{user}",
                    {"token": token_id, "name": body.name})
        row = await conn.fetchrow(Q.security_token, token_id)
    info = msgspec.convert(dict(row), TokenInfo)
    return json_response(NewToken(**msgspec.structs.asdict(info), token=secret), 201)


async def create_own_token(request: web.Request) -> web.Response:
    return await _create_token(request, request[PRINCIPAL].name)


async def create_user_token(request: web.Request) -> web.Response:
    _manager(request)
    return await _create_token(request, _name(request))


async def list_tokens(request: web.Request) -> web.Response:
    query = read_query(request, ListTokensQuery)
    user = request[PRINCIPAL].name
    if query.user is not None and query.user != user:
        _manager(request)
        user = query.user
    after = decode_cursor(query.cursor, tuple[datetime, str])
    rows = await request.app[POOL].fetch(
        Q.security_tokens_page, user, after[0] if after else None,
        uuid.UUID(after[1]) if after else None, query.limit + 1)
    items = [msgspec.convert(dict(r), TokenInfo) for r in rows[: query.limit]]
    nxt = None
    if len(rows) > query.limit:
        nxt = encode_cursor((items[-1].created_at, items[-1].id))
    return json_response(TokenList(items=items, next=nxt))


async def revoke_token(request: web.Request) -> web.Response:
    token_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await conn.fetchrow(Q.security_token, token_id)
        if row is None:
            raise NotFoundError(f"no token {token_id}")
        if row["user"] != request[PRINCIPAL].name:
            _manager(request)
        await conn.execute(Q.security_token_revoke, token_id)
        await audit(conn, request, "token revoked", f"user:{row['user']}",
                    {"token": str(token_id), "name": row["name"]})
    return web.Response(status=204)


# -- variables --------------------------------------------------------------------------

def _variable(row: asyncpg.Record) -> Variable:
    return Variable(name=row["name"], value=MASK if row["encrypted"] else row["value"],
                    encrypted=row["encrypted"], updated_at=row["updated_at"])


async def put_variable(request: web.Request) -> web.Response:
    name = _name(request)
    body = await read_json(request, PutVariable)
    principal = authorize(request, "design", "/")
    value = body.value
    if body.encrypted:
        keys = KeyRing.load(request.app[SETTINGS].data_dir)
        if keys is None:
            raise ConflictError("no secret key: set ORCH_SECRET_KEY or run orch db migrate",
                                code="no-secret-key")
        value = keys.encrypt(value)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await conn.fetchrow(Q.security_variable_put, name, value, body.encrypted,
                                  principal.user_id)
        await audit(conn, request, "variable set", f"variable:{name}",
                    {"encrypted": body.encrypted})
    return json_response(_variable(row), 201 if row["created"] else 200)


async def get_variable(request: web.Request) -> web.Response:
    name = _name(request)
    authorize(request, "design", "/")
    row = await request.app[POOL].fetchrow(Q.security_variable, name)
    if row is None:
        raise NotFoundError(f"no variable {name!r}")
    return json_response(_variable(row))


async def list_variables(request: web.Request) -> web.Response:
    query = read_query(request, PageQuery)
    authorize(request, "design", "/")
    after = decode_cursor(query.cursor, str)
    rows = await request.app[POOL].fetch(Q.security_variables_page, after, query.limit + 1)
    items = [_variable(r) for r in rows[: query.limit]]
    nxt = encode_cursor(items[-1].name) if len(rows) > query.limit else None
    return json_response(VariableList(items=items, next=nxt))


async def delete_variable(request: web.Request) -> web.Response:
    name = _name(request)
    authorize(request, "design", "/")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        if await conn.fetchval(Q.security_variable_delete, name) is None:
            raise NotFoundError(f"no variable {name!r}")
        await audit(conn, request, "variable deleted", f"variable:{name}")
    return web.Response(status=204)


_M = (403, 404, 422)
ROUTES = (
    (Operation("POST", f"{API}/users", "create_user",
               "Create a user (manage_permissions), optionally with a password and groups",
               body=CreateUser, response=User, status=201, errors=(400, 403, 409, 422),
               tags=("security",)), create_user),
    (Operation("GET", f"{API}/users", "list_users", "Users, by name (manage_permissions)",
               query=PageQuery, response=UserList, errors=(403, 422), tags=("security",)),
     list_users),
    (Operation("GET", f"{API}/users/{{name}}", "get_user", "A user (yourself, or any with "
               "manage_permissions)", response=User, path_params=_NAME, errors=(403, 404),
               tags=("security",)), get_user),
    (Operation("PATCH", f"{API}/users/{{name}}", "update_user",
               "Set a user's password, or disable/enable it (manage_permissions)",
               body=UpdateUser, response=User, path_params=_NAME, errors=(400, *_M),
               tags=("security",)), update_user),
    (Operation("POST", f"{API}/groups", "create_group", "Create a group (manage_permissions)",
               body=CreateGroup, response=Group, status=201, errors=(400, 403, 409, 422),
               tags=("security",)), create_group),
    (Operation("GET", f"{API}/groups", "list_groups", "Groups and their members",
               query=PageQuery, response=GroupList, errors=(403, 422), tags=("security",)),
     list_groups),
    (Operation("PUT", f"{API}/groups/{{name}}/members/{{user}}", "add_group_member",
               "Add a user to a group (manage_permissions)", response=Group,
               path_params=_GROUP_MEMBER, errors=(403, 404), tags=("security",)), add_member),
    (Operation("DELETE", f"{API}/groups/{{name}}/members/{{user}}", "remove_group_member",
               "Remove a user from a group (manage_permissions)", response=Group,
               path_params=_GROUP_MEMBER, errors=(403, 404), tags=("security",)),
     remove_member),
    (Operation("POST", f"{API}/grants", "create_grant",
               "Grant rights to a user or group on a runbook or folder path (inherited "
               "below it); rights already held there are kept", body=CreateGrant,
               response=GrantRecord, status=201, errors=(400, 403, 422), tags=("security",)),
     create_grant),
    (Operation("GET", f"{API}/grants", "list_grants", "Grants, by target path",
               query=ListGrantsQuery, response=GrantList, errors=(403, 422),
               tags=("security",)), list_grants),
    (Operation("DELETE", f"{API}/grants/{{id}}", "revoke_grant",
               "Revoke a grant, or only some of its rights (`?rights=start,stop`)",
               query=RevokeGrantQuery, status=204, errors=_M, tags=("security",)),
     revoke_grant),
    (Operation("POST", f"{API}/tokens", "create_token",
               "Create an API token of your own; its secret is in this answer only",
               body=CreateToken, response=NewToken, status=201, errors=(400, 422),
               tags=("security",)), create_own_token),
    (Operation("POST", f"{API}/users/{{name}}/tokens", "create_user_token",
               "Create an API token for a user (manage_permissions)", body=CreateToken,
               response=NewToken, status=201, path_params=_NAME, errors=(400, *_M),
               tags=("security",)), create_user_token),
    (Operation("GET", f"{API}/tokens", "list_tokens",
               "Your tokens (or `?user=` another's, manage_permissions); never the secrets",
               query=ListTokensQuery, response=TokenList, errors=(403, 422),
               tags=("security",)), list_tokens),
    (Operation("DELETE", f"{API}/tokens/{{id}}", "revoke_token",
               "Revoke a token (your own, or any with manage_permissions)", status=204,
               errors=(403, 404), tags=("security",)), revoke_token),
    (Operation("PUT", f"{API}/variables/{{name}}", "put_variable",
               "Set a variable used as {variable:Name}; `encrypted` stores it encrypted and "
               "shows it as ******** (design on /)", body=PutVariable, response=Variable,
               alt_statuses=(201,), path_params=_NAME, errors=(400, 403, 409, 422),
               tags=("variables",)), put_variable),
    (Operation("GET", f"{API}/variables", "list_variables", "Variables (encrypted ones masked)",
               query=PageQuery, response=VariableList, errors=(403, 422),
               tags=("variables",)), list_variables),
    (Operation("GET", f"{API}/variables/{{name}}", "get_variable",
               "A variable (an encrypted one masked)", response=Variable, path_params=_NAME,
               errors=(403, 404), tags=("variables",)), get_variable),
    (Operation("DELETE", f"{API}/variables/{{name}}", "delete_variable", "Delete a variable",
               status=204, path_params=_NAME, errors=(403, 404), tags=("variables",)),
     delete_variable),
)  # fmt: skip
