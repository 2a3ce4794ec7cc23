"""``{variable:Name}`` values from the ``variables`` table (a :class:`VariableSource`).

Encrypted variables hold ciphertext; they are returned only when a
``decrypt`` callable is given (the security layer provides it), else they are
absent, which the runtime reports as an unknown variable. A decrypted value
joins :data:`orch.masking.SECRETS`, so it is masked wherever it is written down.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from orch.errors import ConfigError
from orch.logging import get_logger
from orch.masking import SECRETS
from orch.sql import Q

__all__ = ["PgVariables"]

log = get_logger(__name__)


class PgVariables:
    def __init__(
        self, pool: asyncpg.Pool, *, decrypt: Callable[[str], str] | None = None
    ) -> None:
        self.pool = pool
        self.decrypt = decrypt

    async def get_variables(self, names: frozenset[str]) -> dict[str, str]:
        if not names:
            return {}
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(Q.variables_by_name, list(names))
        out: dict[str, str] = {}
        for name, value, encrypted in rows:
            if not encrypted:
                out[name] = value
            elif self.decrypt is not None:
                try:
                    clear = self.decrypt(value)
                except ConfigError as e:
                    log.warning("encrypted variable does not decrypt", variable=name,
                                error=e.message)
                    continue
                SECRETS.add(clear)
                out[name] = clear
            else:
                log.warning("encrypted variable without a decryption key", variable=name)
        return out
