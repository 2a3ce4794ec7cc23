"""The Prometheus metrics of one process: a gateway, a runbook server, or both (``orch up``).

They live in prometheus-client's default registry, next to its process
collector (``process_resident_memory_bytes``, CPU seconds, open files), and
are defined once, here. Hot paths never look a label up: a runbook server
resolves its children once (:class:`ServerMetrics`) and activity types get
their histogram child cached on first use. Gauges that describe the database
(jobs by status) or the live feed (lag, websocket clients) are set when a
gateway is scraped (``orch.gateway.metrics``); ``set_event_feed_lag`` and
``WEBSOCKET_CLIENTS`` are also there for code that knows better.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

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
    "render",
    "set_event_feed_lag",
]

JOB_STATUSES = ("queued", "running", "success", "warning", "failed", "stopped")
CONTENT_TYPE = CONTENT_TYPE_LATEST

JOBS = Gauge("orch_jobs", "Jobs in the database by status (read when a gateway is scraped)",
             ["status"])
INSTANCES_RUNNING = Gauge("orch_server_instances_running",
                          "Instances this runbook server is running now", ["server"])
JOBS_CLAIMED = Counter("orch_server_jobs_claimed", "Jobs claimed by this runbook server",
                       ["server"])
JOBS_PUSHED = Counter("orch_server_jobs_pushed",
                      "Jobs their start handed to this runbook server while it was idle "
                      "(no claim; orch/server/pushes.py)", ["server"])
INSTANCES_FINISHED = Counter(
    "orch_server_instances_finished",
    "Instances whose outcome this runbook server recorded, by outcome", ["server", "status"])
CLAIM_SECONDS = Histogram(
    "orch_server_claim_seconds", "Round trip of one claim (up to claim_batch jobs)", ["server"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))


class LoopHistogram:
    """A labelled histogram kept in plain lists, exposed when the registry is collected.

    For observations on the event loop thread at every activity run:
    prometheus-client's ``Histogram.observe`` takes a lock and walks the
    buckets in Python (~2 µs, 5 % of a busy server's CPU); this is a bisect and
    two additions. Collected (scraped) on the same thread, so no lock.
    """

    def __init__(self, name: str, documentation: str, label: str,
                 buckets: tuple[float, ...], *,
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self.bounds = tuple(sorted(buckets))
        self._les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
        self._series: dict[str, list[float]] = {}
        """Label value → counts per bucket (the last one: above every bound), then the sum."""
        if registry is not None:
            registry.register(self)

    def series(self, value: str) -> list[float]:
        found = self._series.get(value)
        if found is None:
            found = self._series[value] = [0] * (len(self.bounds) + 2)
        return found

    def observe(self, series: list[float], amount: float) -> None:
        series[bisect_left(self.bounds, amount)] += 1
        series[-1] += amount

    def observe_many(self, series: list[float], amount: float, count: int) -> None:
        """``count`` observations of the same ``amount``."""
        series[bisect_left(self.bounds, amount)] += count
        series[-1] += amount * count

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=[self.label])

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        for value, counts in list(self._series.items()):
            cumulative: list[tuple[str, float]] = []
            total = 0.0
            for le, n in zip(self._les, counts[:-1], strict=True):
                total += n
                cumulative.append((le, total))
            family.add_metric([value], cumulative, counts[-1])
        yield family


ACTIVITY_SECONDS = LoopHistogram(
    "orch_activity_duration_seconds", "Activity runs from start to result, by activity type",
    "type",
    (0.0001, 0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0))
COMMIT_RECORDS = Histogram(
    "orch_group_commit_records", "Records (run starts, results, outcomes) per group commit",
    ["server"], buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000))
COMMIT_SECONDS = Histogram(
    "orch_group_commit_seconds", "One group commit, from taking the batch to its COMMIT",
    ["server"], buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
EVENT_FEED_LAG_SECONDS = Gauge(
    "orch_event_feed_lag_seconds",
    "Age of the oldest event the gateway's live feed has not published yet (0: caught up)")
EVENT_FEED_LAG_EVENTS = Gauge(
    "orch_event_feed_lag_events", "Events committed and not yet published by the live feed")
WEBSOCKET_CLIENTS = Gauge("orch_websocket_clients", "Open live-feed websockets of this gateway")


def set_event_feed_lag(seconds: float, events: int) -> None:
    """Where the live feed stands behind the events table."""
    EVENT_FEED_LAG_SECONDS.set(max(0.0, seconds))
    EVENT_FEED_LAG_EVENTS.set(max(0, events))


def render() -> bytes:
    """The text exposition of every metric of this process."""
    return generate_latest(REGISTRY)


class ServerMetrics:
    """One runbook server's metric children, resolved once; its hooks for the hot paths."""

    def __init__(self, server: str, running: Callable[[], int]) -> None:
        self.server = server
        self._claim = CLAIM_SECONDS.labels(server)
        self._claimed = JOBS_CLAIMED.labels(server)
        self._pushed = JOBS_PUSHED.labels(server)
        self._records = COMMIT_RECORDS.labels(server)
        self._commit = COMMIT_SECONDS.labels(server)
        self._finished: dict[str, Counter] = {}
        self._activity: dict[str, list[float]] = {}
        INSTANCES_RUNNING.labels(server).set_function(running)

    def claimed(self, seconds: float, jobs: int) -> None:
        self._claim.observe(seconds)
        if jobs:
            self._claimed.inc(jobs)

    def pushed(self) -> None:
        """A job its start handed to this server: claimed by it, without a claim
        statement (counted among the claimed jobs too, not in the claim's time)."""
        self._claimed.inc()
        self._pushed.inc()

    def batch(self, records: int, seconds: float) -> None:
        self._records.observe(records)
        self._commit.observe(seconds)

    def outcome(self, status: str) -> None:
        child = self._finished.get(status)
        if child is None:
            child = self._finished[status] = INSTANCES_FINISHED.labels(self.server, status)
        child.inc()

    def activity(self, activity_type: str, seconds: float) -> None:
        series = self._activity.get(activity_type)
        if series is None:
            series = self._activity[activity_type] = ACTIVITY_SECONDS.series(activity_type)
        ACTIVITY_SECONDS.observe(series, seconds)
