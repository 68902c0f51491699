"""Prometheus metrics as one typed bundle, built on a registry passed in (tests use a fresh one)."""

import urllib.request
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

# Event-to-alert latency spans a few milliseconds (live) to minutes (a backlog).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class Metrics:
    events_consumed: Counter
    events_dead_lettered: Counter
    events_stale: Counter
    alerts_raised: Counter
    alerts_persisted: Counter
    event_to_alert_latency: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "Metrics":
        return cls(
            events_consumed=Counter(
                "casewatch_events_consumed_total", "Case events read and validated, by type.",
                ["event_type"], registry=registry,
            ),
            events_dead_lettered=Counter(
                "casewatch_events_dead_lettered_total", "Messages sent to the dead-letter topic, by reason code.",
                ["reason"], registry=registry,
            ),
            events_stale=Counter(
                "casewatch_events_stale_total", "Events older than the state horizon, which change nothing.",
                ["event_type"], registry=registry,
            ),
            alerts_raised=Counter(
                "casewatch_alerts_raised_total", "Alerts raised or updated, by rule and severity.",
                ["rule", "severity"], registry=registry,
            ),
            alerts_persisted=Counter(
                "casewatch_alerts_persisted_total", "Alert versions written to the database.",
                registry=registry,
            ),
            event_to_alert_latency=Histogram(
                "casewatch_event_to_alert_latency_seconds",
                "From the triggering event reaching Kafka to its alert being stored.",
                buckets=LATENCY_BUCKETS, registry=registry,
            ),
        )  # fmt: skip


def scrape(url: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`, read from a /metrics URL.

    The demo and the tests watch a worker process this way, as Prometheus would.
    """
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
