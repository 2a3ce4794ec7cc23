"""Installing a pack into this environment: pip, then a fresh look at what it exposes.

``pip`` runs as ``sys.executable -m pip`` (the environment orch itself runs
in, so the runbook server started from it loads the pack). Which distribution
was installed is read from the argument: a wheel or sdist file name, or a
project folder's ``pyproject.toml``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import msgspec

from orch.db.packs import PackRecord
from orch.errors import OrchError

__all__ = ["InstallError", "distribution_name", "installed_packs", "pip_install"]


class InstallError(OrchError):
    """The pack could not be installed."""


_WHEEL = re.compile(r"^(?P<name>[^-]+)-[^-]+(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
_SDIST = re.compile(r"^(?P<name>.+)-[^-]+\.(tar\.gz|zip)$")


def distribution_name(target: str) -> str:
    """The distribution a path installs (wheel, sdist, or a folder with pyproject.toml)."""
    path = Path(target)
    if path.is_dir():
        pyproject = path / "pyproject.toml"
        if not pyproject.is_file():
            raise InstallError(f"{target}: no pyproject.toml (not a pack project)")
        try:
            name = tomllib.loads(pyproject.read_text())["project"]["name"]
        except (KeyError, tomllib.TOMLDecodeError) as exc:
            raise InstallError(f"{pyproject}: no [project] name ({exc})") from None
        return str(name)
    for pattern in (_WHEEL, _SDIST):
        m = pattern.match(path.name)
        if m is not None:
            return m.group("name")
    raise InstallError(f"{target}: expected a wheel, an sdist or a project folder")


def pip_install(target: str, extra: Sequence[str] = ()) -> None:
    """``python -m pip install --upgrade TARGET``; its output goes to our stderr."""
    cmd = [sys.executable, "-m", "pip", "install", "--upgrade", "--disable-pip-version-check",
           *extra, target]  # fmt: skip
    done = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if done.returncode != 0:
        raise InstallError(f"pip install {target} failed (exit {done.returncode})")


def installed_packs(distribution: str) -> list[PackRecord]:
    """The packs ``distribution`` exposes, read by a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "orch.packs.describe", distribution],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise InstallError(f"could not load {distribution}'s activities: "
                           f"{lines[-1] if lines else 'no output'}")
    packs = msgspec.json.decode(done.stdout, type=list[PackRecord])
    if not packs:
        raise InstallError(f"{distribution} exposes no 'orch.activities' entry point")
    return packs
