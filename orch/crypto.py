"""Encryption of secret variables: Fernet keys from ``ORCH_SECRET_KEY`` or the data folder.

The key ring is one or more Fernet keys: the first encrypts, every one
decrypts, so ``orch variable rotate-key`` can put a new key first, re-encrypt
every encrypted variable with it and then drop the old one. The keys come
from ``ORCH_SECRET_KEY`` (comma-separated) when set, else from the file
``secret.key`` (mode 0600, one key a line) in the data folder, which ``orch
up`` and ``orch db migrate`` create when it is absent. A key file changed on
disk is read again, so a running server follows a rotation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from orch.errors import ConfigError

__all__ = ["KEY_FILE", "KeyRing", "ensure_key_file", "write_key_file"]

KEY_FILE = "secret.key"
ENV = "ORCH_SECRET_KEY"


def _parse(text: str, source: str) -> list[bytes]:
    keys = [k.strip().encode() for k in text.replace(",", "\n").splitlines() if k.strip()]
    for k in keys:
        try:
            Fernet(k)
        except ValueError:
            raise ConfigError("not a Fernet key (32 url-safe base64-encoded bytes)",
                              path=source) from None
    return keys


def write_key_file(data_dir: Path | str, keys: list[bytes]) -> Path:
    """Write the key ring readable by its owner only (replaced atomically)."""
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(k + b"\n" for k in keys))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def ensure_key_file(data_dir: Path | str, env: Mapping[str, str] | None = None) -> Path | None:
    """Create ``secret.key`` with a fresh key unless one exists or the key is in the env."""
    env = os.environ if env is None else env
    if env.get(ENV):
        return None
    path = Path(data_dir) / KEY_FILE
    if path.exists():
        return path
    return write_key_file(data_dir, [Fernet.generate_key()])


class KeyRing:
    """Encrypts with the first key, decrypts with any."""

    def __init__(self, keys: list[bytes], *, path: Path | None = None) -> None:
        if not keys:
            raise ConfigError("no secret key", path=ENV)
        self.keys = keys
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._path = path
        self._mtime = path.stat().st_mtime_ns if path is not None else None

    @classmethod
    def load(cls, data_dir: Path | str, env: Mapping[str, str] | None = None) -> KeyRing | None:
        """From ``ORCH_SECRET_KEY``, else the data folder's ``secret.key``; None without."""
        env = os.environ if env is None else env
        if env.get(ENV):
            return cls(_parse(env[ENV], ENV))
        path = Path(data_dir) / KEY_FILE
        try:
            text = path.read_text()
        except OSError:
            return None
        return cls(_parse(text, str(path)), path=path)

    @property
    def from_environment(self) -> bool:
        """The keys came from ``ORCH_SECRET_KEY`` (no file to rewrite)."""
        return self._path is None

    def _refresh(self) -> None:
        if self._path is None:
            return
        try:
            mtime = self._path.stat().st_mtime_ns
        except OSError:
            return
        if mtime != self._mtime:
            fresh = KeyRing(_parse(self._path.read_text(), str(self._path)), path=self._path)
            self.keys, self._fernet, self._mtime = fresh.keys, fresh._fernet, fresh._mtime

    def encrypt(self, value: str) -> str:
        self._refresh()
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        self._refresh()
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError("an encrypted variable does not decrypt with the secret key",
                              path=ENV) from None
