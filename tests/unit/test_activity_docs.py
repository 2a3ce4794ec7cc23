"""docs/activities.md is generated from the declarations and must be up to date."""

from __future__ import annotations

from pathlib import Path

from activities import ACTIVITIES
from orch.sdk.docs import render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "activities.md"


def test_the_activity_reference_is_up_to_date() -> None:
    expected = render(ACTIVITIES, title="Standard activity reference")
    assert DOCS.read_text(encoding="utf-8") == expected, (
        "docs/activities.md is stale: run `python -m orch.sdk.docs > docs/activities.md`"
    )


def test_every_activity_is_documented_with_its_inputs_and_fields() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for t in ACTIVITIES:
        assert f"### {t.name} — " in text
    assert "| `action` | `decrement` \\| `increment` \\| `reset` \\| `set` | " in text
    assert "| `name` | string | *required* | The counter's name. |" in text
    assert "| `Value` | integer | Its value (after the change, for modify_counter). |" in text
