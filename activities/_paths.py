"""Paths given to file activities, checked against an optional allowed root.

When the runbook server's environment sets ``ORCH_FILES_ROOT``, every path a
file activity touches must resolve — after ``..`` and symbolic links — to that
folder or below it; anything else fails the run naming the property. Without
it, any absolute path is accepted (the runbook server's own permissions are
the limit, as for SCO's file activities).
"""

from __future__ import annotations

import os
from pathlib import Path

from orch.sdk import ActivityError

ROOT_ENV = "ORCH_FILES_ROOT"


def allowed_root() -> Path | None:
    """The configured root, resolved (read on every call, so tests may set it)."""
    value = os.environ.get(ROOT_ENV, "").strip()
    if not value:
        return None
    return Path(os.path.realpath(value))


def resolve(value: str, prop: str) -> Path:
    """The absolute path in ``value`` (property ``prop``), refused outside the root.

    The path is returned as given (not normalised: ``a/link/..`` means what
    the operating system makes of it, which is what the check resolved), so an
    operation on a symbolic link acts on the link.
    """
    if not value:
        raise ActivityError(f"property {prop}: a path is required")
    if "\x00" in value:
        raise ActivityError(f"property {prop}: a path must not contain NUL")
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ActivityError(f"property {prop}: {value} is not an absolute path")
    check(path, prop)
    return path


def check(path: Path, prop: str) -> None:
    """Fail when ``path`` resolves outside the allowed root (when one is set)."""
    root = allowed_root()
    if root is None:
        return
    if not inside(path, root):
        raise ActivityError(f"property {prop}: {path} is outside the allowed root {root}")


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves (``..`` and links followed) to ``root`` or below it."""
    real = Path(os.path.realpath(path))
    return real == root or real.is_relative_to(root)
