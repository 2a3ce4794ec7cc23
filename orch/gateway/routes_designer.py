"""The visual designer's routes: activity types, the runbook JSON Schema, outlines, tests.

Kept apart from the route table so the designer's parts register with one line
in ``routes.py``.
"""

from __future__ import annotations

from orch.gateway import activity_types, tester

ROUTES = (
    *activity_types.ROUTES,
    *tester.ROUTES,
)
