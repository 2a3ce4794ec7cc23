"""Runbook and folder paths: one spelling, one check, wherever a path comes in.

A path is absolute: ``/`` (the root) or ``/Ops/Services/Restart``, names
separated by one ``/``. Refused, naming the segment:

- ``.`` and ``..`` segments: a path names one place, with no relative steps
  and nothing that reads as a way out of the tree (``/../../etc``);
- empty segments (``/a//b``): one ``/`` between names, never two;
- control characters (NUL, newline, …) in a segment.

The trailing-slash policy: one trailing slash is accepted and dropped
(``/Ops/`` is ``/Ops``), since it adds no segment; ``/Ops//`` is an empty
segment. A missing leading slash is added (``Ops/Services`` is
``/Ops/Services``), as the command line has always allowed. Runbook documents
are stricter still: their ``folder`` must already be in this canonical
spelling (the checker's ``bad-folder``).

Check-in, import, folder create/rename/move, grant targets, runbook references
(``POST /jobs``, ``invoke_runbook``'s ``runbook``) and list filters all go
through :func:`normalize_path`, so no two of them can disagree on what a
path means. A leaf module: it imports nothing of orch but its errors.
"""

from __future__ import annotations

import re
import uuid

from orch.errors import DocumentError

__all__ = [
    "BadPath",
    "normalize_path",
    "path_problem",
    "reference_problem",
    "segment_problem",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadPath(DocumentError):
    """The path is not a valid runbook or folder path."""


def segment_problem(name: str) -> str | None:
    """What makes ``name`` unfit as one segment of a path (a folder's or runbook's name)."""
    if name in (".", ".."):
        return f"{name!r} is not a name ('.' and '..' segments are not allowed)"
    if not name:
        return "a name must not be empty"
    if "/" in name:
        return f"{name!r}: a name must not contain '/'"
    bad = _CONTROL.search(name)
    if bad is not None:
        return f"{name!r}: a name must not contain control characters (U+{ord(bad[0]):04X})"
    return None


def _segments(text: str) -> tuple[list[str], str | None]:
    """The segments of ``text`` and the first problem (naming the segment), if any."""
    parts = text.split("/")
    if parts and parts[0] == "" and len(parts) > 1:
        parts = parts[1:]  # the leading slash
    if len(parts) > 0 and parts[-1] == "":
        parts = parts[:-1]  # one trailing slash (or the empty path: the root)
    for n, part in enumerate(parts, 1):
        if part == "":
            return parts, (f"{text!r} has an empty segment (segment {n}, '//'): "
                           "write one '/' between names")
        problem = segment_problem(part)
        if problem is not None:
            return parts, f"{text!r}, segment {n}: {problem}"
    return parts, None


def path_problem(text: str) -> str | None:
    """What is wrong with the path ``text``, naming the segment; None when it is fine."""
    return _segments(text)[1]


def normalize_path(text: str, *, field: str | None = None) -> str:
    """The canonical spelling of a runbook or folder path; :class:`BadPath` otherwise.

    ``field`` is where the path came from (a JSON path such as ``$.folder``),
    carried by the error so the API's 422 names it.
    """
    parts, problem = _segments(text)
    if problem is not None:
        raise BadPath(problem, path=field)
    return "/" + "/".join(parts)


def reference_problem(ref: str) -> str | None:
    """What is wrong with a runbook reference (an id, or a path), or None."""
    ref = ref.strip()
    try:
        uuid.UUID(ref)
        return None
    except ValueError:
        return path_problem(ref)
