"""``orch ip new NAME``: a ready-to-install integration pack.

The project it writes installs with pip as it is, exposes its activities
through the ``orch.activities`` entry point (the pack name is the module
name), holds one example activity written with nothing but ``orch.sdk``, and
one test that runs it in isolation with ``orch.sdk.testing.run_activity`` —
which passes out of the box::

    NAME/
      pyproject.toml
      README.md
      src/MODULE/__init__.py      ACTIVITIES = [...]
      src/MODULE/activities.py    the example activity
      tests/test_activities.py
"""

from __future__ import annotations

import re
from pathlib import Path

from orch import __version__
from orch.errors import OrchError

__all__ = ["ScaffoldError", "module_name", "scaffold"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")


class ScaffoldError(OrchError):
    """The pack could not be created."""


def module_name(name: str) -> str:
    """``acme-tools`` → ``acme_tools`` (the module and the pack name)."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def scaffold(name: str, folder: Path) -> Path:
    """Write the pack project ``folder/name``; return its path."""
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a pack name (a letter, then letters, digits, '-', '_' or '.')"
        )
    root = folder / name
    if root.exists() and any(root.iterdir()):
        raise ScaffoldError(f"{root} already exists and is not empty")
    module = module_name(name)
    title = " ".join(w.capitalize() for w in re.split(r"[-_.]+", name))
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/{module}/__init__.py": INIT,
        f"src/{module}/activities.py": ACTIVITY,
        "tests/test_activities.py": TEST,
    }
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (template.replace("{{name}}", name).replace("{{module}}", module)
                .replace("{{title}}", title).replace("{{orch_version}}", __version__))  # fmt: skip
        path.write_text(text, encoding="utf-8")
    return root


PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{{name}}"
version = "0.1.0"
description = "{{title}}: an orch integration pack"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["orch>={{orch_version}}"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The pack: orch loads ACTIVITIES from this module; the entry point's name is the pack's name.
[project.entry-points."orch.activities"]
{{module}} = "{{module}}"

[tool.setuptools.packages.find]
where = ["src"]
"""

README = """\
# {{title}}

An orch integration pack (`orch ip new {{name}}`).

- `src/{{module}}/activities.py` — the activities, written with `orch.sdk`.
- `src/{{module}}/__init__.py` — `ACTIVITIES`, the list orch loads.
- `tests/` — each activity run in isolation with `orch.sdk.testing.run_activity`.

    pip install -e '.[test]' && pytest     # develop
    orch ip install .                      # install on a runbook server and register it
    orch ip list                           # which servers have which version

In a runbook the example is `{"id": "greet", "type": "{{module}}:say_hello",
"properties": {"name": "World"}}`, and `{greet.Greeting}` is its published data.
Field docstrings (or `Annotated[T, msgspec.Meta(description=...)]`) become the
property and field descriptions of the registered JSON Schemas.
"""

INIT = '''\
"""{{title}}: an orch integration pack."""

from __future__ import annotations

from {{module}}.activities import say_hello

ACTIVITIES = [say_hello]

__all__ = ["ACTIVITIES"]
'''

ACTIVITY = '''\
"""The pack's activities: typed inputs, typed published data, nothing but ``orch.sdk``."""

from __future__ import annotations

from orch.sdk import ActivityError, Context, Inputs, Published, activity


class SayHelloInputs(Inputs):
    name: str
    """Who to greet."""
    greeting: str = "Hello"
    """The word to greet with."""
    shout: bool = False
    """Write the greeting in capitals."""


class Greeting(Published):
    Greeting: str
    """The whole greeting, e.g. ``Hello, World!``."""
    Length: int
    """Its length in characters."""


@activity(
    "say_hello",
    display_name="Say Hello",
    category="{{title}}",
    rerunnable=True,  # no side effect: safe to run again after a server is lost
)
async def say_hello(ctx: Context, inputs: SayHelloInputs) -> Greeting:
    """Greet someone (the example activity: replace it with your own)."""
    if not inputs.name.strip():
        raise ActivityError("property name: nobody to greet")
    text = f"{inputs.greeting}, {inputs.name}!"
    if inputs.shout:
        text = text.upper()
    ctx.log.info("greeting", name=inputs.name)
    return Greeting(Greeting=text, Length=len(text))
'''

TEST = '''\
"""Each activity run in isolation, exactly as a runbook server converts and runs it."""

from __future__ import annotations

import asyncio

from orch.sdk.testing import run_activity

from {{module}}.activities import say_hello


def test_say_hello() -> None:
    result = asyncio.run(run_activity(say_hello, {"name": "World", "shout": "true"}))
    assert result.status == "success", result.error
    assert result.items == [{"Greeting": "HELLO, WORLD!", "Length": "13"}]


def test_say_hello_needs_a_name() -> None:
    result = asyncio.run(run_activity(say_hello, {"name": " "}))
    assert (result.status, result.error) == ("failed", "property name: nobody to greet")
    result = asyncio.run(run_activity(say_hello, {}))
    assert (result.status, result.error) == ("failed", "property name is required")
'''
