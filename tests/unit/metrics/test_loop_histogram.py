"""LoopHistogram: Prometheus histogram semantics (le inclusive, cumulative, sum, count)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orch.metrics import LoopHistogram


def test_buckets_are_cumulative_and_inclusive() -> None:
    registry = CollectorRegistry()
    h = LoopHistogram("t_seconds", "test", "kind", (1.0, 0.1), registry=registry)
    a = h.series("a")
    for v in (0.05, 0.1, 0.5, 1.0, 7.0):
        h.observe(a, v)
    h.observe(h.series("b"), 0.2)
    assert h.series("a") is a
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        for s in f.samples
    }
    assert samples[("t_seconds_bucket", (("kind", "a"), ("le", "0.1")))] == 2
    assert samples[("t_seconds_bucket", (("kind", "a"), ("le", "1.0")))] == 4
    assert samples[("t_seconds_bucket", (("kind", "a"), ("le", "+Inf")))] == 5
    assert samples[("t_seconds_count", (("kind", "a"),))] == 5
    assert samples[("t_seconds_sum", (("kind", "a"),))] == 8.65
    assert samples[("t_seconds_bucket", (("kind", "b"), ("le", "0.1")))] == 0
    assert samples[("t_seconds_count", (("kind", "b"),))] == 1
