"""The monitors in isolation (``run_monitor``), and how the SDK declares monitors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activities.monitors import monitor_counter, monitor_date_time, monitor_file, monitor_webhook
from orch.sdk import Context, Inputs, Published, activity
from orch.sdk.local import MemoryCounters, MemoryWebhooks, memory_services
from orch.sdk.testing import RUNBOOK_ID, run_activity, run_monitor

TOKEN = "hook-token-0123456789"


async def test_monitor_date_time_interval_and_max_triggers() -> None:
    r = await run_monitor(monitor_date_time, {"interval_seconds": 0.02}, triggers=3)
    assert r.status == "success", r.error
    assert [t[0]["TriggerCount"] for t in r.triggers] == ["1", "2", "3"]
    r = await run_monitor(monitor_date_time, {"interval_seconds": 0.02, "max_triggers": 2},
                          triggers=5)  # fmt: skip
    assert r.status == "success" and len(r.triggers) == 2  # it ended by itself


async def test_monitor_date_time_cron_and_bad_inputs() -> None:
    r = await run_monitor(monitor_date_time, {"cron": "* * * * *", "interval_seconds": 5})
    assert r.status == "failed"
    assert r.error == "give either interval_seconds (more than 0) or cron, not both"
    r = await run_monitor(monitor_date_time, {"cron": "every day"})
    assert (r.status, r.error) == ("failed", "property cron: invalid cron expression 'every day'")
    r = await run_monitor(monitor_date_time, {"interval_seconds": 1, "schedule": "Nope"})
    assert (r.status, r.error) == ("failed", "no schedule named 'Nope'")


async def test_monitor_file_created_modified_deleted(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("1")
    (tmp_path / "skip.txt").write_text("1")

    async def change() -> None:
        (tmp_path / "new.csv").write_text("hello")
        (tmp_path / "old.csv").write_text("changed!")
        (tmp_path / "other.txt").write_text("ignored")

    r = await run_monitor(monitor_file, {"folder": str(tmp_path), "pattern": "*.csv",
                                         "poll_seconds": 0.02},
                          triggers=2, while_watching=change)  # fmt: skip
    assert r.status == "success", r.error
    got = sorted((t[0]["Event"], t[0]["Name"], t[0]["Size"]) for t in r.triggers)
    assert got == [("created", "new.csv", "5"), ("modified", "old.csv", "8")]

    async def delete() -> None:
        (tmp_path / "new.csv").unlink()

    r = await run_monitor(monitor_file, {"folder": str(tmp_path), "pattern": "*.csv",
                                         "events": ["deleted"], "poll_seconds": 0.02},
                          while_watching=delete)  # fmt: skip
    assert [(t[0]["Event"], t[0]["Name"], t[0]["ModifiedTime"]) for t in r.triggers] == [
        ("deleted", "new.csv", "")
    ]


async def test_monitor_file_bad_folder(tmp_path: Path) -> None:
    r = await run_monitor(monitor_file, {"folder": str(tmp_path / "missing")})
    assert r.status == "failed" and r.error is not None and "is not a folder" in r.error
    r = await run_monitor(monitor_file, {"folder": "relative/path"})
    assert r.status == "failed"
    assert r.error == "property folder: relative/path is not an absolute path"
    r = await run_monitor(monitor_file, {"folder": str(tmp_path), "events": ["renamed"]})
    assert r.status == "failed" and r.error is not None and r.error.startswith("property events")


async def test_monitor_counter_triggers_when_the_threshold_is_crossed_again() -> None:
    counters = MemoryCounters({"Errors": 0})

    async def climb() -> None:
        await counters.modify("Errors", "set", 5)  # crosses: trigger
        await counters.modify("Errors", "set", 0)  # re-arms
        await counters.modify("Errors", "set", 7)

    r = await run_monitor(
        monitor_counter, {"counter": "Errors", "op": "ge", "value": 5, "poll_seconds": 0.01},
        triggers=1, while_watching=climb, services=memory_services(counters=counters),
    )  # fmt: skip
    assert r.status == "success", r.error
    assert r.triggers[0][0]["Counter"] == "Errors"
    assert int(r.triggers[0][0]["Value"]) >= 5
    r = await run_monitor(monitor_counter, {"counter": "", "value": 1})
    assert (r.status, r.error) == ("failed", "property counter: a counter name is required")


async def test_monitor_webhook_publishes_the_body_and_checks_the_token() -> None:
    hooks = MemoryWebhooks()

    async def call() -> None:
        assert not hooks.deliver(RUNBOOK_ID, "wrong-token-000000000", {"a": 1})
        assert hooks.deliver(RUNBOOK_ID, TOKEN, {"Host": "web1", "n": 2})

    r = await run_monitor(
        monitor_webhook, {"token": TOKEN, "fields": ["Host", "Missing"]},
        while_watching=call, services=memory_services(webhooks=hooks),
    )  # fmt: skip
    assert r.status == "success", r.error
    (item,) = r.triggers[0]
    assert item["Body"] == '{"Host":"web1","n":2}'
    assert (item["Host"], item["Missing"]) == ("web1", "")
    fields = monitor_webhook.fields({"fields": ["Host"]})
    assert fields == {"Body", "ReceivedAt", "RequestId", "Host"}
    r = await run_monitor(monitor_webhook, {"token": "short"})
    assert (r.status, r.error) == ("failed", "property token: must be at least 16 characters")


async def test_a_monitor_outside_a_server_cannot_trigger() -> None:
    r = await run_activity(monitor_date_time, {"interval_seconds": 0.01})
    assert r.status == "failed"
    assert r.error == "monitors trigger only when they start a runbook on a server"


class Tick(Published):
    N: int


class NoInputs(Inputs):
    pass


def test_declaring_monitors() -> None:
    @activity("ticks", monitor=True)
    async def ticks(ctx: Context, inputs: NoInputs) -> AsyncIterator[Tick]:
        yield Tick(N=1)

    assert ticks.monitor and ticks.published is Tick and not ticks.multi_valued
    with pytest.raises(TypeError, match="only a monitor may be an async generator"):

        @activity("bad")
        async def bad(ctx: Context, inputs: NoInputs) -> AsyncIterator[Tick]:
            yield Tick(N=1)


async def test_a_coroutine_monitor_uses_ctx_trigger() -> None:
    @activity("twice", monitor=True)
    async def twice(ctx: Context, inputs: NoInputs) -> None:
        ctx.progress("armed")
        await ctx.trigger(Tick(N=1))
        await ctx.trigger([Tick(N=2), Tick(N=3)])

    r = await run_monitor(twice, triggers=2)
    assert r.triggers == [[{"N": "1"}], [{"N": "2"}, {"N": "3"}]]
