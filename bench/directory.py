"""directory: what directory sign-in costs (issue 19), against a real slapd on loopback.

Prints one JSON line:

- ``login_local_ms`` / ``login_ldap_ms``: ``POST /api/v1/session`` p50 for the local
  admin (argon2) and for a directory user (service bind, user search, user bind,
  nested-group searches; the user and its groups stored, audited);
- ``me_local_token_ms`` / ``me_ldap_token_ms``: ``GET /api/v1/runbooks?limit=1`` p50
  with the API token of a local non-admin user and of a directory user within its
  refresh window: the per-request cost of the membership check (no directory round
  trip);
- ``refresh_ms``: one due membership read again and stored (``Refresher.ensure_fresh``);
- ``parallel_logins_per_s``: 40 directory log-ins started at once (the LDAP thread
  pool is 4 workers), completed per second.

    python bench/directory.py [--n 200]

The slapd comes from tests/integration/directory/slapd.py (Debian's slapd, ldap-utils).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from _common import create_pool, database, median
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app
from orch.gateway.external import REFRESHER
from orch.gateway.keys import POOL
from tests.integration.directory.slapd import PASSWORDS, remove, start_slapd

ADMIN_TOKEN = "orch_bench-directory-admin"


async def _timed(n: int, call: Any) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t0) * 1000)
    return round(median(times), 3)


async def main(n: int) -> dict[str, Any]:
    slapd = start_slapd()
    try:
        async with database() as dsn:
            pool = await create_pool(dsn, min_size=2, max_size=8)
            async with pool.acquire() as conn:
                await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password="bench-password")
            app = make_app(slapd.settings(login_max_failures=10**6,
                                          login_max_failures_per_address=10**6), pool)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            try:
                return await _measure(app, url, n)
            finally:
                await runner.cleanup()
                await pool.close()
    finally:
        remove(slapd)


async def _measure(app: web.Application, url: str, n: int) -> dict[str, Any]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async def login(name: str, password: str) -> dict[str, Any]:
            async with http.post(f"{url}/api/v1/session",
                                 json={"name": name, "password": password}) as r:
                assert r.status == 200, await r.text()
                return dict(await r.json())

        async def me(token: str) -> None:
            async with http.get(f"{url}/api/v1/runbooks?limit=1",
                                headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200, await r.text()
                await r.read()

        await login("bob", PASSWORDS["bob"])  # warm: root DSE read, groups known
        local = await _timed(n // 4, lambda: login("admin", "bench-password"))
        ldap = await _timed(n // 4, lambda: login("bob", PASSWORDS["bob"]))
        me_bob = await login("bob", PASSWORDS["bob"])
        jar_token = None
        async with http.post(f"{url}/api/v1/tokens", json={"name": "bench"},
                             headers={"X-CSRF-Token": me_bob["csrf_token"]}) as r:
            assert r.status == 201, await r.text()
            jar_token = (await r.json())["token"]
        http.cookie_jar.clear()
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with http.post(f"{url}/api/v1/users", json={"name": "robot"}, headers=admin) as r:
            assert r.status == 201, await r.text()
        async with http.post(f"{url}/api/v1/users/robot/tokens", json={"name": "bench"},
                             headers=admin) as r:
            robot = (await r.json())["token"]
        me_local = await _timed(n, lambda: me(robot))
        me_ldap = await _timed(n, lambda: me(jar_token))

        pool = app[POOL]
        user_id = me_bob["user_id"]

        async def refresh() -> None:
            await pool.execute("UPDATE external_identities SET checked_at = "
                               "checked_at - interval '1 day' WHERE user_id = $1", user_id)
            assert (await app[REFRESHER].ensure_fresh(user_id)).refreshed

        refresh_ms = await _timed(n // 4, refresh)
        t0 = time.perf_counter()
        await asyncio.gather(*(login("alice", PASSWORDS["alice"]) for _ in range(40)))
        parallel = 40 / (time.perf_counter() - t0)
    return {"bench": "directory", "n": n, "login_local_ms": local, "login_ldap_ms": ldap,
            "me_local_token_ms": me_local, "me_ldap_token_ms": me_ldap,
            "refresh_ms": refresh_ms, "parallel_logins_per_s": round(parallel, 1)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    print(json.dumps(asyncio.run(main(parser.parse_args().n))))
