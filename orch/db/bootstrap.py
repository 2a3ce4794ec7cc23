"""First start of an empty database: the ``admin`` user in ``admins``, with a token.

Runs only while no user exists (under a transaction advisory lock, so two
processes starting at once create one admin). The secrets are printed once by
the CLI and written to ``credentials.json`` (mode 0600) in the data folder,
which the CLI reads as its default credentials. The data folder also gets
``secret.key`` (``orch.crypto``) for encrypted variables when it has none.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from pathlib import Path

import asyncpg
import msgspec
from argon2 import PasswordHasher

from orch.crypto import ensure_key_file
from orch.sql import Q

__all__ = [
    "CREDENTIALS_FILE",
    "Credentials",
    "bootstrap_admin",
    "hash_password",
    "hash_token",
    "new_token",
    "read_credentials",
    "write_credentials",
]

CREDENTIALS_FILE = "credentials.json"
ADMIN_USER = "admin"

_hasher = PasswordHasher()


class Credentials(msgspec.Struct, kw_only=True):
    user: str
    password: str
    token: str
    url: str | None = None


def new_token() -> str:
    """An API token as shown to its owner once (``orch_<urlsafe>``)."""
    return "orch_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the database stores of a token: sha256 hex of the token string."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def bootstrap_admin(
    conn: asyncpg.Connection,
    data_dir: Path | str | None,
    *,
    token: str | None = None,
    password: str | None = None,
    url: str | None = None,
) -> Credentials | None:
    """Create the admin when the database has no user; None when it already has one."""
    creds = Credentials(
        user=ADMIN_USER,
        password=password or secrets.token_urlsafe(18),
        token=token or new_token(),
        url=url,
    )
    if data_dir is not None:
        ensure_key_file(data_dir)  # the key of encrypted variables, unless ORCH_SECRET_KEY
    async with conn.transaction():
        await conn.execute(Q.bootstrap_lock)
        if await conn.fetchval(Q.bootstrap_any_user):
            return None
        await conn.execute(
            Q.bootstrap_admin,
            uuid.uuid4(),
            uuid.uuid4(),
            creds.user,
            hash_password(creds.password),
            uuid.uuid4(),
            hash_token(creds.token),
        )
    if data_dir is not None:
        write_credentials(data_dir, creds)
    return creds


def write_credentials(data_dir: Path | str, creds: Credentials) -> Path:
    """Write ``credentials.json`` readable by its owner only (created 0600, never wider)."""
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CREDENTIALS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(msgspec.json.format(msgspec.json.encode(creds)) + b"\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def read_credentials(data_dir: Path | str) -> Credentials | None:
    """The credentials written at bootstrap, or None when there are none."""
    path = Path(data_dir) / CREDENTIALS_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=Credentials)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
