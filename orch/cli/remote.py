"""How client verbs find the gateway: ``--url``/``--token``, the environment, ``orch up``'s file.

Order: the options (which also read ``ORCH_URL``/``ORCH_TOKEN``), else the
credentials file ``orch up`` writes in the data folder (``--data-dir`` /
``ORCH_DATA_DIR``, default ``./.orch``), which records the URL it serves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from orch.client import Client


@dataclass(frozen=True, slots=True)
class Remote:
    url: str | None
    token: str | None
    data_dir: Path | None

    def client(self) -> Client:
        return Client.from_env(self.url, self.token, data_dir=self.data_dir)


def remote_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--url``, ``--token``, ``--data-dir``; the command receives ``remote: Remote``."""

    @click.option("--url", envvar="ORCH_URL", default=None, metavar="URL",
                  help="Gateway URL [env ORCH_URL; default: the one `orch up` recorded].")
    @click.option("--token", envvar="ORCH_TOKEN", default=None, metavar="TOKEN",
                  help="API token [env ORCH_TOKEN; default: the credentials file].")
    @click.option("--data-dir", envvar="ORCH_DATA_DIR", default=None,
                  type=click.Path(file_okay=False, path_type=Path),
                  help="Data folder holding credentials.json [env ORCH_DATA_DIR; ./.orch].")
    @functools.wraps(fn)
    def wrapper(*args: Any, url: str | None, token: str | None, data_dir: Path | None,
                **kwargs: Any) -> Any:
        return fn(*args, remote=Remote(url, token, data_dir), **kwargs)

    return wrapper
