"""Prometheus metrics as one typed bundle, built on a registry passed in (tests use a fresh one)."""

import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from schemas.alerts import Severity
from streams.rejection import DEAD_LETTER_REASONS

# Event-to-alert latency spans a few milliseconds (live) to minutes (a backlog).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# The two clocks of agents.sweep: ticks to children, and to teams.
TICK_KINDS = ("child", "team")


@dataclass(frozen=True)
class Metrics:
    events_consumed: Counter
    events_dead_lettered: Counter
    events_forwarded: Counter
    events_stale: Counter
    alerts_raised: Counter
    alerts_persisted: Counter
    event_to_alert_latency: Histogram
    # The live clock (agents.sweep) and the team rates it publishes.
    ticks_sent: Counter
    assigned_partitions: Gauge
    watermark_lag: Gauge
    team_rereferral_ratio: Gauge
    team_agreement_rereferral_ratio: Gauge
    rereferral_ratio_threshold: Gauge
    # Agents that cannot die silently (agents.supervisor).
    agent_crashes: Counter
    worker_ready: Gauge
    children_erased: Counter
    # Operations (docs/operations.md): is the worker keeping up, and is anything arriving?
    consumer_lag: Gauge
    rebalances: Counter
    last_event_timestamp: Gauge
    store_failures: Counter
    store_lag: Gauge
    state_store_bytes: Gauge

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
            events_forwarded=Counter(
                "casewatch_events_forwarded_total",
                "Events that arrived on another partition than their child's and were forwarded to it, by topic "
                "(a producer that does not use the murmur2 partitioner).",
                ["topic"], registry=registry,
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
            ticks_sent=Counter(
                "casewatch_ticks_sent_total", "Clock ticks this worker sent to children or teams with a deadline due.",
                ["kind"], registry=registry,
            ),
            assigned_partitions=Gauge(
                "casewatch_assigned_input_partitions", "Input topic partitions this worker holds.",
                registry=registry,
            ),
            watermark_lag=Gauge(
                "casewatch_clock_watermark_lag_seconds",
                "How far the time-driven rules' clock is behind the wall clock (a backlog holds it back).",
                registry=registry,
            ),
            team_rereferral_ratio=Gauge(
                "casewatch_team_rereferral_ratio",
                "Share of a team's referrals in the rolling period that were re-referrals (DfE definition).",
                ["team"], registry=registry,
            ),
            team_agreement_rereferral_ratio=Gauge(
                "casewatch_team_agreement_rereferral_ratio",
                "Share of a team's written agreements in the rolling period followed by a referral.",
                ["team"], registry=registry,
            ),
            rereferral_ratio_threshold=Gauge(
                "casewatch_rereferral_ratio_threshold",
                "The configured threshold for team re-referral ratios, 0-1 (default the national figure).",
                registry=registry,
            ),
            agent_crashes=Counter(
                "casewatch_agent_crashes_total",
                "Batches an agent could not finish (each is retried; a crash loop stops the worker).",
                ["agent"], registry=registry,
            ),
            worker_ready=Gauge(
                "casewatch_worker_ready",
                "1 once the tables are recovered and every agent is working; 0 while an agent is crashing.",
                registry=registry,
            ),
            children_erased=Counter(
                "casewatch_children_erased_total", "Children this worker dropped from its state on `casewatch erase`.",
                registry=registry,
            ),
            consumer_lag=Gauge(
                "casewatch_consumer_lag_messages",
                "Messages on an input partition this worker holds that it has not handled yet.",
                ["topic", "partition"], registry=registry,
            ),
            rebalances=Counter(
                "casewatch_rebalances_total", "Partition assignments this worker received (one per rebalance).",
                registry=registry,
            ),
            last_event_timestamp=Gauge(
                "casewatch_last_event_timestamp_seconds",
                "Kafka timestamp (Unix seconds) of the newest case event this worker consumed, by input topic.",
                ["topic"], registry=registry,
            ),
            store_failures=Counter(
                "casewatch_store_failures_total",
                "Attempts to store a batch of alerts or timeline events in the database that failed (each is retried).",
                registry=registry,
            ),
            store_lag=Gauge(
                "casewatch_store_lag_messages",
                "Messages a store consumer (persist: the alerts; timeline: the input events) has not stored yet, "
                "over the partitions it holds.",
                ["consumer"], registry=registry,
            ),
            state_store_bytes=Gauge(
                "casewatch_state_store_bytes", "Size on disk of this worker's table stores (RocksDB).",
                registry=registry,
            ),
        )  # fmt: skip

    def start_at_zero(
        self, *, event_types: Iterable[str], topics: Iterable[str], rules: Iterable[str], agents: Iterable[str]
    ) -> None:
        """Create the labelled counters' series for every known label value, at 0.

        A series that first appears at 1 hides that first increase from `increase()` and
        `rate()`, and a panel or rule on a series that does not exist yet shows nothing.
        """
        for event_type in event_types:
            self.events_consumed.labels(event_type=event_type)
            self.events_stale.labels(event_type=event_type)
        for topic in topics:
            self.events_forwarded.labels(topic=topic)
        for reason in DEAD_LETTER_REASONS:
            self.events_dead_lettered.labels(reason=reason)
        for rule in rules:
            for severity in get_args(Severity):
                self.alerts_raised.labels(rule=rule, severity=severity)
        for agent in agents:
            self.agent_crashes.labels(agent=agent)
        for kind in TICK_KINDS:
            self.ticks_sent.labels(kind=kind)


def at_most_every(
    seconds: float, read: Callable[[], float], clock: Callable[[], float] = time.monotonic
) -> Callable[[], float]:
    """`read`, called again only once `seconds` have passed since it last was; the value it
    gave in between. For a gauge read at each scrape whose reading costs the worker time
    (a walk of the state directory: 1.7% of its samples with a scrape a second)."""
    last: list[tuple[float, float]] = []  # (when read, value)

    def cached() -> float:
        now = clock()
        if not last or now - last[0][0] >= seconds:
            last[:] = [(now, read())]
        return last[0][1]

    return cached


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
