"""orch/server/pushes.py: the push payload and the read-back's memory."""

from __future__ import annotations

import json

import pytest

from orch.server.pushes import Adoption, Push, decode_push

_PAYLOAD = {
    "server": "s1", "job_id": "j", "instance_id": "i", "runbook_id": "r",
    "runbook_version": 3, "runbook_path": "/A/B", "runbook_name": "B",
    "parameters": {"x": "1"}, "created_by": None,
}


def test_a_push_reads_as_the_row_a_claim_answers() -> None:
    push = decode_push(json.dumps(_PAYLOAD))
    assert push == Push(**_PAYLOAD)
    assert push is not None and push.row() == _PAYLOAD


@pytest.mark.parametrize("payload", ["", "{", "[]", json.dumps({"server": "s1"}),
                                     json.dumps({**_PAYLOAD, "runbook_version": "3"})])
def test_a_malformed_push_is_none(payload: str) -> None:
    assert decode_push(payload) is None


def test_the_read_back_skips_what_ran_started_or_ended_meanwhile() -> None:
    adoption = Adoption()
    adoption.note("before")  # not reading back: nothing is kept
    adoption.begin(["running"])
    adoption.note("pushed")   # its notification came during the read
    adoption.note("ended")    # ended during the read (its row may still say running)
    assert adoption.end() == {"running", "pushed", "ended"}
    assert adoption.end() == set()
    adoption.note("after")
    adoption.begin([])
    assert adoption.end() == set()
