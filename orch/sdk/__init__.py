"""orch.sdk — the Integration Toolkit: declare custom activities in Python.

Standard activities (``activities/``) use only this public API, exactly like a
third-party integration pack.
"""

from orch.sdk.declare import (
    COMMON_FIELDS,
    ActivityType,
    Inputs,
    Published,
    Secret,
    activity,
)
from orch.sdk.registry import Registry, default_registry, load_installed

__all__ = [
    "COMMON_FIELDS",
    "ActivityType",
    "Inputs",
    "Published",
    "Registry",
    "Secret",
    "activity",
    "default_registry",
    "load_installed",
]
