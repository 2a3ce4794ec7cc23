"""The standard activities — itself an integration pack, written with the public SDK only."""

from __future__ import annotations

from activities.data import compare_values, initialize_data, junction, return_data
from activities.library import LIBRARY
from activities.placeholder import not_imported
from activities.program import run_program
from activities.runbooks import invoke_runbook
from activities.state import STATE
from activities.timing import wait
from orch.sdk import ActivityType

ACTIVITIES: list[ActivityType] = [
    initialize_data,
    return_data,
    junction,
    run_program,
    compare_values,
    invoke_runbook,
    wait,
    not_imported,
    *LIBRARY,
    *STATE,
]

__all__ = ["ACTIVITIES"]
