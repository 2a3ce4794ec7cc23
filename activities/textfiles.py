"""Text-file activities: read, find, append, insert, delete lines; search and replace.

Lines are numbered from 1 and split on ``\\n``, ``\\r\\n`` or ``\\r``; each
line's own ending is kept when a file is rewritten, and added lines use the
file's first line ending (``\\n`` for a file without one). Rewrites go to a
temporary file in the same folder that then replaces the original in one
step, so a reader never sees half a file and a crash leaves the old one.
Paths are checked against the optional allowed root (``ORCH_FILES_ROOT``).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import re
import shutil
import tempfile
from pathlib import Path

from activities import _paths
from activities.files import os_failure
from orch.sdk import ActivityError, Context, Inputs, Published, activity

_ENDING = re.compile(r"\r\n|\n|\r")
_SPEC_ITEM = re.compile(r"^(\d+|end)(?:\s*-\s*(\d+|end))?$", re.I)


# -- line specifications ------------------------------------------------------


def parse_lines(spec: str, total: int, prop: str = "lines") -> list[int]:
    """Line numbers selected by ``spec`` in a file of ``total`` lines, in file order.

    ``spec`` is a comma-separated list of ``N``, ``N-M``, ``N-END`` or ``END``
    (1-based, inclusive); numbers past the end select nothing.
    """
    chosen: set[int] = set()
    for raw in spec.split(","):
        part = raw.strip()
        m = _SPEC_ITEM.match(part)
        if m is None:
            raise ActivityError(
                f"property {prop}: {part!r} is not a line number or range (like 3, 2-5, 1-END)"
            )
        if any(t is not None and t.isdigit() and int(t) < 1 for t in m.groups()):
            raise ActivityError(f"property {prop}: line numbers start at 1")
        first = _bound(m.group(1), total)
        last = _bound(m.group(2), total) if m.group(2) else first
        if m.group(2) and m.group(2).isdigit() and last < first:
            raise ActivityError(f"property {prop}: range {part} ends before it starts")
        chosen.update(range(max(first, 1), min(last, total) + 1))
    return sorted(chosen)


def _bound(token: str, total: int) -> int:
    return total if token.lower() == "end" else int(token)


# -- reading and writing ------------------------------------------------------


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ActivityError(f"property encoding: unknown encoding {encoding!r}") from None


def _read(path: Path, encoding: str) -> list[str]:
    """The file's lines, each with its own line ending (the last may have none)."""
    _check_encoding(encoding)
    try:
        with open(path, encoding=encoding, newline="") as f:
            return f.readlines()
    except FileNotFoundError:
        raise ActivityError(f"property path: {path} does not exist") from None
    except IsADirectoryError:
        raise ActivityError(f"property path: {path} is a folder") from None
    except UnicodeDecodeError as exc:
        raise ActivityError(
            f"property encoding: {path} is not valid {encoding} (byte {exc.start})"
        ) from None
    except OSError as exc:
        raise os_failure("read", exc) from None


def _strip(line: str) -> str:
    return line.rstrip("\r\n")


def _newline(lines: list[str]) -> str:
    for line in lines:
        m = _ENDING.search(line)
        if m:
            return m.group(0)
    return "\n"


def _new_lines(text: str, newline: str) -> list[str]:
    return [part + newline for part in _ENDING.split(text)]


def _write(path: Path, text: str, encoding: str) -> None:
    """Replace the file behind ``path`` (links followed) with ``text`` in one step."""
    target = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, UnicodeEncodeError):
            raise ActivityError(
                f"property encoding: the text cannot be written as {encoding}"
            ) from None
        if isinstance(exc, OSError):
            raise os_failure("write", exc) from None
        raise


# -- published data -------------------------------------------------------------


class LineItem(Published):
    LineNumber: int
    """1-based number of the line in the file."""
    Line: str
    """The line's text, without its line ending."""


class FileChanged(Published):
    Path: str
    """The file's path."""
    LineCount: int
    """Number of lines in the file afterwards."""


# -- read_line ------------------------------------------------------------------


class ReadLineInputs(Inputs):
    path: str
    """Absolute path of a text file."""
    lines: str = "1-END"
    """Which lines: comma-separated numbers and ranges, like ``1``, ``2-5``, ``10-END``, ``END``."""
    encoding: str = "utf-8"
    """The file's text encoding."""


@activity("read_line", display_name="Read Line", category="Text File Management", rerunnable=True)
async def read_line(ctx: Context, inputs: ReadLineInputs) -> list[LineItem]:
    """Publish one item per selected line (``LineNumber``, ``Line``), in file order.

    Lines past the end of the file select nothing; no selected line means no
    items (the path below ends).
    """
    return await asyncio.to_thread(_read_line, inputs)


def _read_line(inputs: ReadLineInputs) -> list[LineItem]:
    path = _paths.resolve(inputs.path, "path")
    lines = _read(path, inputs.encoding)
    numbers = parse_lines(inputs.lines, len(lines))
    return [LineItem(LineNumber=n, Line=_strip(lines[n - 1])) for n in numbers]


# -- find_text ------------------------------------------------------------------


class FindTextInputs(Inputs):
    path: str
    """Absolute path of a text file."""
    text: str
    """What to look for: plain text, or a regular expression with ``regex``."""
    regex: bool = False
    """Read ``text`` as a (Python) regular expression, searched within each line."""
    case_sensitive: bool = True
    """Match upper and lower case exactly."""
    fail_if_none: bool = False
    """Fail when no line matches; otherwise no items are published (the path below ends)."""
    encoding: str = "utf-8"
    """The file's text encoding."""


class FoundLine(Published):
    LineNumber: int
    """1-based number of the matching line."""
    Line: str
    """The whole line, without its line ending."""
    Match: str
    """The first matching text in the line."""


def _pattern(text: str, regex: bool, case_sensitive: bool, prop: str) -> re.Pattern[str]:
    if not text:
        raise ActivityError(f"property {prop}: must not be empty")
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        return re.compile(text if regex else re.escape(text), flags)
    except re.error as exc:
        raise ActivityError(f"property {prop}: bad regular expression: {exc}") from None


@activity("find_text", display_name="Find Text", category="Text File Management", rerunnable=True)
async def find_text(ctx: Context, inputs: FindTextInputs) -> list[FoundLine]:
    """Publish one item per line containing ``text`` (``LineNumber``, ``Line``, ``Match``)."""
    found = await asyncio.to_thread(_find_text, inputs)
    if not found and inputs.fail_if_none:
        raise ActivityError(f"{inputs.text!r} not found in {inputs.path}")
    return found


def _find_text(inputs: FindTextInputs) -> list[FoundLine]:
    pattern = _pattern(inputs.text, inputs.regex, inputs.case_sensitive, "text")
    path = _paths.resolve(inputs.path, "path")
    out: list[FoundLine] = []
    for n, raw in enumerate(_read(path, inputs.encoding), 1):
        line = _strip(raw)
        m = pattern.search(line)
        if m is not None:
            out.append(FoundLine(LineNumber=n, Line=line, Match=m.group(0)))
    return out


# -- append_line ------------------------------------------------------------------


class AppendLineInputs(Inputs):
    path: str
    """Absolute path of a text file."""
    text: str
    """The line to add (text with line breaks adds several lines)."""
    create: bool = True
    """Create the file when it does not exist (its folder must exist)."""
    encoding: str = "utf-8"
    """The file's text encoding."""


class LineAppended(Published):
    Path: str
    """The file's path."""


@activity(
    "append_line", display_name="Append Line", category="Text File Management", rerunnable=False
)
async def append_line(ctx: Context, inputs: AppendLineInputs) -> LineAppended:
    """Add ``text`` as a new line at the end of a file.

    The file is appended to in place (no rewrite); a last line without a line
    ending gets one first, so the text always starts a line of its own.
    """
    return await asyncio.to_thread(_append_line, inputs)


def _append_line(inputs: AppendLineInputs) -> LineAppended:
    path = _paths.resolve(inputs.path, "path")
    _check_encoding(inputs.encoding)
    mode = "a+b" if inputs.create else "r+b"
    try:
        with open(path, mode) as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            newline, last = "\n", b""
            if size:
                f.seek(max(0, size - 4096))
                tail = f.read()
                last = tail[-1:]
                if b"\r\n" in tail:
                    newline = "\r\n"
            data = "".join(_new_lines(inputs.text, newline))
            if last and last not in (b"\n", b"\r"):
                data = newline + data
            try:
                encoded = data.encode(inputs.encoding)
            except UnicodeEncodeError:
                raise ActivityError(
                    f"property encoding: the text cannot be written as {inputs.encoding}"
                ) from None
            f.seek(0, os.SEEK_END)
            f.write(encoded)
    except FileNotFoundError:
        raise ActivityError(f"property path: {path} does not exist") from None
    except IsADirectoryError:
        raise ActivityError(f"property path: {path} is a folder") from None
    except OSError as exc:
        raise os_failure("append", exc) from None
    return LineAppended(Path=str(path))


# -- insert_line ------------------------------------------------------------------


class InsertLineInputs(Inputs):
    path: str
    """Absolute path of a text file."""
    text: str
    """The line to insert (text with line breaks inserts several lines)."""
    line_number: str = "END"
    """Insert before this line (1-based); ``END`` or the line count + 1 appends."""
    encoding: str = "utf-8"
    """The file's text encoding."""


@activity(
    "insert_line", display_name="Insert Line", category="Text File Management", rerunnable=False
)
async def insert_line(ctx: Context, inputs: InsertLineInputs) -> FileChanged:
    """Insert ``text`` as a new line before line ``line_number``."""
    return await asyncio.to_thread(_insert_line, inputs)


def _insert_line(inputs: InsertLineInputs) -> FileChanged:
    path = _paths.resolve(inputs.path, "path")
    lines = _read(path, inputs.encoding)
    spec = inputs.line_number.strip()
    if spec.lower() == "end":
        at = len(lines) + 1
    elif spec.isdigit() and int(spec) >= 1:
        at = int(spec)
    else:
        raise ActivityError(f"property line_number: {spec!r} is not a line number or END")
    if at > len(lines) + 1:
        raise ActivityError(
            f"property line_number: {at} is past the end of {path} ({len(lines)} lines)"
        )
    newline = _newline(lines)
    if at == len(lines) + 1 and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    new = _new_lines(inputs.text, newline)
    lines[at - 1 : at - 1] = new
    _write(path, "".join(lines), inputs.encoding)
    return FileChanged(Path=str(path), LineCount=len(lines))


# -- delete_line ------------------------------------------------------------------


class DeleteLineInputs(Inputs):
    path: str
    """Absolute path of a text file."""
    lines: str
    """Which lines: comma-separated numbers and ranges, like ``1``, ``2-5``, ``10-END``, ``END``."""
    encoding: str = "utf-8"
    """The file's text encoding."""


class LinesDeleted(Published):
    Path: str
    """The file's path."""
    Deleted: int
    """How many lines were deleted."""
    LineCount: int
    """Number of lines in the file afterwards."""


@activity(
    "delete_line", display_name="Delete Line", category="Text File Management", rerunnable=False
)
async def delete_line(ctx: Context, inputs: DeleteLineInputs) -> LinesDeleted:
    """Delete the selected lines (numbers past the end select nothing)."""
    return await asyncio.to_thread(_delete_line, inputs)


def _delete_line(inputs: DeleteLineInputs) -> LinesDeleted:
    path = _paths.resolve(inputs.path, "path")
    lines = _read(path, inputs.encoding)
    doomed = set(parse_lines(inputs.lines, len(lines)))
    if doomed:
        kept = [line for n, line in enumerate(lines, 1) if n not in doomed]
        _write(path, "".join(kept), inputs.encoding)
    else:
        kept = lines
    return LinesDeleted(Path=str(path), Deleted=len(doomed), LineCount=len(kept))


# -- search_and_replace_text -------------------------------------------------------


class SearchAndReplaceInputs(Inputs):
    path: str
    """Absolute path of a text file."""
    search: str
    """What to replace: plain text, or a regular expression with ``regex``."""
    replace: str = ""
    """The replacement (with ``regex``, ``\\1`` or ``\\g<name>`` insert groups)."""
    regex: bool = False
    """Read ``search`` as a (Python) regular expression over the whole text."""
    case_sensitive: bool = True
    """Match upper and lower case exactly."""
    max_replacements: int = 0
    """Replace at most this many occurrences (0: all)."""
    encoding: str = "utf-8"
    """The file's text encoding."""


class TextReplaced(Published):
    Path: str
    """The file's path."""
    Replacements: int
    """How many occurrences were replaced (0 leaves the file untouched)."""


@activity(
    "search_and_replace_text",
    display_name="Search and Replace Text",
    category="Text File Management",
    rerunnable=False,
)
async def search_and_replace_text(ctx: Context, inputs: SearchAndReplaceInputs) -> TextReplaced:
    """Replace occurrences of ``search`` in a file; publish how many were replaced."""
    return await asyncio.to_thread(_search_and_replace, inputs)


def _search_and_replace(inputs: SearchAndReplaceInputs) -> TextReplaced:
    if inputs.max_replacements < 0:
        raise ActivityError("property max_replacements: must not be negative")
    pattern = _pattern(inputs.search, inputs.regex, inputs.case_sensitive, "search")
    path = _paths.resolve(inputs.path, "path")
    text = "".join(_read(path, inputs.encoding))
    replacement = inputs.replace if inputs.regex else inputs.replace.replace("\\", "\\\\")
    try:
        new, count = pattern.subn(replacement, text, count=inputs.max_replacements)
    except (re.error, IndexError) as exc:
        raise ActivityError(f"property replace: {exc}") from None
    if count:
        _write(path, new, inputs.encoding)
    return TextReplaced(Path=str(path), Replacements=count)
