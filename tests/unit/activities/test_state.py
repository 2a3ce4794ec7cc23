"""Variables, counters, schedules and approvals, each run with the SDK's test helper."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest

from activities.approval import wait_for_approval
from activities.counters import get_counter, modify_counter
from activities.schedules import check_schedule
from activities.variables import get_variable, set_variable
from orch.sdk.local import MemoryApprovals, MemoryCounters, MemoryVariables, memory_services
from orch.sdk.schedule import Schedule
from orch.sdk.services import Services
from orch.sdk.testing import run_activity


async def test_variables_get_set_and_default() -> None:
    variables = MemoryVariables({"Env": "prod"})
    services = memory_services(variables=variables)
    r = await run_activity(get_variable, {"name": "Env"}, services=services)
    assert (r.status, r.items) == ("success", [{"Name": "Env", "Value": "prod", "Exists": "true"}])
    r = await run_activity(get_variable, {"name": "Nope"}, services=services)
    assert (r.status, r.error) == ("failed", "no variable named 'Nope'")
    r = await run_activity(get_variable, {"name": "Nope", "default": "x"}, services=services)
    assert r.items == [{"Name": "Nope", "Value": "x", "Exists": "false"}]
    r = await run_activity(set_variable, {"name": "Nope", "value": "42"}, services=services)
    assert r.status == "success" and variables.values["Nope"] == "42"
    r = await run_activity(set_variable, {"name": " ", "value": "1"}, services=services)
    assert (r.status, r.error) == ("failed", "property name: a variable name is required")


async def test_a_runtime_without_a_service_fails_the_activity_clearly() -> None:
    r = await run_activity(get_counter, {"name": "x"}, services=Services())
    assert (r.status, r.error) == ("failed", "counters are not available in this runtime")


async def test_counters_set_increment_decrement_reset() -> None:
    counters = MemoryCounters()
    services = memory_services(counters=counters)

    async def modify(action: str, value: object = None) -> str:
        props = {"name": "Hits", "action": action}
        if value is not None:
            props["value"] = value
        r = await run_activity(modify_counter, props, services=services)
        assert r.status == "success", r.error
        return r.items[0]["Value"]

    assert await modify("increment") == "1"
    assert await modify("increment", "5") == "6"
    assert await modify("decrement", 2) == "4"
    assert await modify("set", -3) == "-3"
    assert await modify("reset") == "0"
    r = await run_activity(get_counter, {"name": "Hits"}, services=services)
    assert r.items == [{"Name": "Hits", "Value": "0"}]
    r = await run_activity(get_counter, {"name": "Other"}, services=services)
    assert (r.status, r.error) == ("failed", "no counter named 'Other'")
    r = await run_activity(modify_counter, {"name": "Hits", "action": "double"}, services=services)
    assert r.status == "failed" and r.error is not None and "action" in r.error
    r = await run_activity(modify_counter, {"name": "Hits", "value": "many"}, services=services)
    assert r.status == "failed" and r.error is not None and r.error.startswith("property value")
    r = await run_activity(modify_counter, {"name": "Hits", "value": -1}, services=services)
    assert (r.status, r.error) == ("failed", "property value: increment takes a step of 0 or more")


WORK_HOURS = msgspec.convert(
    {
        "time_zone": "Europe/Paris",
        "days_of_week": ["mon", "tue", "wed", "thu", "fri"],
        "hours": ["08:00-12:00", "13:30-18:00"],
        "exceptions": [{"date": "2026-12-25"}],
    },
    Schedule,
)


def test_schedule_rules() -> None:
    s = msgspec.convert(msgspec.to_builtins(WORK_HOURS), Schedule)
    # Thursday 2026-11-26, 09:00 in Paris is 08:00 UTC
    assert s.contains(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    assert not s.contains(datetime(2026, 11, 26, 11, 45, tzinfo=UTC))  # 12:45 lunch
    assert not s.contains(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))  # Saturday
    assert not s.contains(datetime(2026, 12, 25, 9, 0, tzinfo=UTC))  # exception
    nxt = s.next_inside(datetime(2026, 11, 27, 17, 30, tzinfo=UTC))  # Friday 18:30 Paris
    assert nxt == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 Paris
    last = Schedule(days_of_month=[-1], hours=["22:00-02:00"])
    assert last.contains(datetime(2026, 2, 28, 23, 0, tzinfo=UTC))
    assert not last.contains(datetime(2026, 2, 27, 23, 0, tzinfo=UTC))
    assert last.contains(datetime(2026, 2, 28, 1, 0, tzinfo=UTC))
    cron = Schedule(cron=["*/15 9-17 * * mon-fri"])
    assert cron.contains(datetime(2026, 11, 26, 9, 45, 30, tzinfo=UTC))
    assert not cron.contains(datetime(2026, 11, 26, 9, 46, tzinfo=UTC))
    assert Schedule().contains(datetime.now(UTC))


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"days_of_week": ["funday"]}, "unknown day"),
        ({"days_of_month": [0]}, "day of month 0"),
        ({"hours": ["9-17"]}, "expected HH:MM-HH:MM"),
        ({"cron": ["* * *"]}, "invalid cron expression"),
        ({"exceptions": [{"from": "2026-01-02", "to": "2026-01-01"}]}, "`to` is before"),
        ({"bogus": 1}, "unknown field"),
    ],
)
def test_invalid_schedules_are_refused(definition: dict[str, object], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(definition, Schedule)


async def test_check_schedule() -> None:
    services = memory_services(schedules={"WorkHours": WORK_HOURS})
    r = await run_activity(
        check_schedule, {"schedule": "WorkHours", "time": "2026-11-26T08:00:00Z"}, services=services
    )
    assert r.status == "success", r.error
    assert r.items[0]["Inside"] == "true"
    assert r.items[0]["NextInside"] == "2026-11-26T08:01:00Z"
    r = await run_activity(
        check_schedule,
        {"schedule": "WorkHours", "time": "2026-11-28T08:00:00Z", "fail_outside": True},
        services=services,
    )
    assert r.status == "failed" and r.items[0]["Inside"] == "false"
    assert r.error == "2026-11-28T08:00:00Z is outside schedule 'WorkHours'"
    r = await run_activity(check_schedule, {"schedule": "Nope"}, services=services)
    assert (r.status, r.error) == ("failed", "no schedule named 'Nope'")
    r = await run_activity(check_schedule, {"schedule": "WorkHours", "time": "noon"},
                           services=services)  # fmt: skip
    assert r.status == "failed" and r.error is not None and r.error.startswith("property time")


async def _decide(approvals: MemoryApprovals, status: str, by: str, comment: str) -> None:
    await approvals.requested.wait()
    (approval_id,) = approvals.pending()
    approvals.decide(approval_id, status, by, comment)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "outcome", "error"),
    [("approved", "success", None), ("rejected", "failed", "rejected by alice: not today")],
)
async def test_wait_for_approval_decided(status: str, outcome: str, error: str | None) -> None:
    approvals = MemoryApprovals()
    services = memory_services(approvals=approvals)
    run = asyncio.create_task(
        run_activity(wait_for_approval, {"message": "Reboot?"}, services=services)
    )
    await _decide(approvals, status, "alice", "not today")
    r = await run
    assert (r.status, r.error) == (outcome, error)
    item = r.items[0]
    assert (item["Decision"], item["DecidedBy"], item["Comment"]) == (status, "alice", "not today")
    assert item["ApprovalId"] in approvals.decisions
    (request,) = approvals.requests.values()
    assert request.message == "Reboot?" and request.key == "00000000-0000-4000-8000-000000000003"


async def test_wait_for_approval_times_out() -> None:
    approvals = MemoryApprovals()
    r = await run_activity(
        wait_for_approval, {"message": "?", "timeout_seconds": 0.05},
        services=memory_services(approvals=approvals),
    )  # fmt: skip
    assert (r.status, r.error) == ("failed", "no decision within 0.05 s")
    assert r.items[0]["Decision"] == "expired" and r.items[0]["DecidedBy"] == ""
    r = await run_activity(wait_for_approval, {"message": "?", "timeout_seconds": 0})
    assert (r.status, r.error) == ("failed", "property timeout_seconds: must be more than 0")


async def test_a_rerun_waits_for_the_same_approval_and_keeps_its_expiry() -> None:
    approvals = MemoryApprovals()
    services = memory_services(approvals=approvals)
    props = {"message": "?", "timeout_seconds": 0.2}
    first = asyncio.create_task(run_activity(wait_for_approval, props, services=services))
    await approvals.requested.wait()
    first.cancel()  # the server running it is lost
    # the new owner runs it again under the same run id, asking for a longer wait
    r = await run_activity(wait_for_approval, {"message": "?", "timeout_seconds": 3600},
                           services=services)  # fmt: skip
    assert r.items[0]["Decision"] == "expired"  # within the first request's 0.2 s
    assert len(approvals.requests) == 1
