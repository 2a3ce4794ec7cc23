"""orch.sdk — the Integration Toolkit: declare custom activities in Python.

Standard activities (``activities/``) use only this public API, exactly like a
third-party integration pack.
"""

from orch.document.model import Operator, ParameterType
from orch.document.paths import reference_problem
from orch.errors import ActivityError
from orch.sdk.context import (
    ChildJob,
    Context,
    InstanceInfo,
    Item,
    RunbookLauncher,
    VariableLookup,
)
from orch.sdk.convert import (
    InputError,
    convert_inputs,
    error_summary,
    format_time,
    to_items,
    to_text,
)
from orch.sdk.declare import (
    COMMON_FIELDS,
    ActivityType,
    Inputs,
    NoData,
    Published,
    Secret,
    activity,
    secret_fields,
)
from orch.sdk.registry import Registry, default_registry, load_installed
from orch.sdk.schedule import Schedule
from orch.sdk.services import (
    ApprovalRequest,
    CounterValue,
    Decision,
    Services,
    Ticket,
    TriggerSink,
    WebhookRequest,
)
from orch.sdk.values import compare, parameter_text

__all__ = [
    "COMMON_FIELDS",
    "ActivityError",
    "ActivityType",
    "ApprovalRequest",
    "ChildJob",
    "Context",
    "CounterValue",
    "Decision",
    "InputError",
    "Inputs",
    "InstanceInfo",
    "Item",
    "NoData",
    "Operator",
    "ParameterType",
    "Published",
    "Registry",
    "RunbookLauncher",
    "Schedule",
    "Secret",
    "Services",
    "Ticket",
    "TriggerSink",
    "VariableLookup",
    "WebhookRequest",
    "activity",
    "compare",
    "convert_inputs",
    "default_registry",
    "error_summary",
    "format_time",
    "load_installed",
    "parameter_text",
    "reference_problem",
    "secret_fields",
    "to_items",
    "to_text",
]
