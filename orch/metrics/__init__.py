"""Prometheus metrics: the definitions (``registry``) and a runbook server's listener (``http``).

Metric names (counters get ``_total`` in the exposition):

- ``orch_jobs{status}`` — jobs in the database by status (gateway, at scrape time)
- ``orch_server_instances_running{server}``, ``orch_server_jobs_claimed{server}``,
  ``orch_server_jobs_pushed{server}`` (of the claimed, those their start handed over, with no
  claim statement: orch/server/pushes.py),
  ``orch_server_instances_finished{server,status}``
- ``orch_server_claim_seconds{server}`` — round trip of one claim
- ``orch_activity_duration_seconds{type}`` — activity runs by activity type
- ``orch_group_commit_records{server}``, ``orch_group_commit_seconds{server}``
- ``orch_event_feed_lag_seconds``, ``orch_event_feed_lag_events``, ``orch_websocket_clients``
  (gateway)
- ``orch_live_delivery_seconds{from}`` — live feed: an event's commit (``from="commit"``, with
  ``track_commit_timestamp=on``; else its read, ``from="read"``) to its frame written to every
  socket; ``orch_live_dropped_events`` (gateway; ``orch/gateway/live/delivery.py``)
- prometheus-client's ``process_*`` (RSS, CPU) and ``python_*`` collectors
"""

from __future__ import annotations

from orch.metrics.http import metrics_listener
from orch.metrics.registry import (
    ACTIVITY_SECONDS,
    CLAIM_SECONDS,
    COMMIT_RECORDS,
    COMMIT_SECONDS,
    CONTENT_TYPE,
    EVENT_FEED_LAG_EVENTS,
    EVENT_FEED_LAG_SECONDS,
    INSTANCES_FINISHED,
    INSTANCES_RUNNING,
    JOB_STATUSES,
    JOBS,
    JOBS_CLAIMED,
    JOBS_PUSHED,
    WEBSOCKET_CLIENTS,
    LoopHistogram,
    ServerMetrics,
    render,
    set_event_feed_lag,
)

__all__ = [
    "ACTIVITY_SECONDS",
    "CLAIM_SECONDS",
    "COMMIT_RECORDS",
    "COMMIT_SECONDS",
    "CONTENT_TYPE",
    "EVENT_FEED_LAG_EVENTS",
    "EVENT_FEED_LAG_SECONDS",
    "INSTANCES_FINISHED",
    "INSTANCES_RUNNING",
    "JOBS",
    "JOBS_CLAIMED",
    "JOBS_PUSHED",
    "JOB_STATUSES",
    "WEBSOCKET_CLIENTS",
    "LoopHistogram",
    "ServerMetrics",
    "metrics_listener",
    "render",
    "set_event_feed_lag",
]
