"""State, human steps and monitors: the activities that use ``ctx.services``.

Kept apart from the runbook-control core and the library of programs, data,
files and notification, so the pack's ``ACTIVITIES`` lists each group once.
"""

from __future__ import annotations

from activities.approval import wait_for_approval
from activities.counters import get_counter, modify_counter
from activities.monitors import monitor_counter, monitor_date_time, monitor_file, monitor_webhook
from activities.schedules import check_schedule
from activities.variables import get_variable, set_variable
from orch.sdk import ActivityType

STATE: list[ActivityType] = [
    # variables
    get_variable,
    set_variable,
    # counters
    get_counter,
    modify_counter,
    # schedules
    check_schedule,
    # human steps
    wait_for_approval,
    # monitors
    monitor_date_time,
    monitor_file,
    monitor_counter,
    monitor_webhook,
]

__all__ = ["STATE"]
