"""run_script's ``publish``: a script publishes values of its own (what SCO's "Run .Net
Script" did with its published variables) through the JSON file named by
``$ORCH_PUBLISH_FILE``."""

from __future__ import annotations

import pytest

from activities.scripts import run_script
from orch.document import DocumentInvalid, load
from orch.sdk.testing import run_activity
from tests.unit.runtime.helpers import REGISTRY, act, link, runbook

WRITE = """echo hello
printf '{"Result": "ok", "N": 3, "Nil": null, "List": [1, "a"]}' > "$ORCH_PUBLISH_FILE"
"""


async def test_the_listed_names_are_published_from_the_file() -> None:
    r = await run_activity(run_script, {"script": WRITE,
                                        "publish": ["Result", "N", "Nil", "List", "Missing"]})
    assert r.status == "success", r.error
    (item,) = r.items
    assert {k: item[k] for k in ("Output", "ExitCode", "Result", "N", "Nil", "List",
                                 "Missing")} == {
        "Output": "hello", "ExitCode": "0", "Result": "ok", "N": "3", "Nil": "",
        "List": '[1, "a"]', "Missing": ""}


async def test_without_publish_there_is_no_file_and_no_extra_field() -> None:
    r = await run_activity(run_script, {"script": 'echo "[${ORCH_PUBLISH_FILE:-none}]"'})
    assert r.status == "success"
    assert r.items[0]["Output"] == "[none]"
    assert "Result" not in r.items[0]


async def test_a_file_that_is_not_a_json_object_fails_the_run() -> None:
    r = await run_activity(run_script, {"script": 'echo "[1]" > "$ORCH_PUBLISH_FILE"',
                                        "publish": ["X"]})
    assert r.status == "failed" and "must hold a JSON object" in (r.error or "")
    r = await run_activity(run_script, {"script": 'echo "{nope" > "$ORCH_PUBLISH_FILE"',
                                        "publish": ["X"]})
    assert r.status == "failed" and "is not JSON" in (r.error or "")


def test_published_names_are_fields_for_references_and_are_checked() -> None:
    doc = runbook([act("s", "core:run_script", script="true", publish=["Result"]),
                   act("use", "t:echo", value="{s.Result} {s.Output}")],
                  [link("s", "use")])
    load(doc, REGISTRY)
    doc["activities"][1]["properties"]["value"] = "{s.Other}"
    with pytest.raises(DocumentInvalid):
        load(doc, REGISTRY)
    doc = runbook([act("s", "core:run_script", script="true", publish=["Output"])], [])
    with pytest.raises(DocumentInvalid) as e:
        load(doc, REGISTRY)
    assert "cannot be a field name" in str(e.value.faults)
