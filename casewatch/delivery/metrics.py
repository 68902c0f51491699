"""Delivery metrics as one typed bundle on a registry passed in (tests use a fresh one)."""

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class DeliveryMetrics:
    sent: Counter
    failed: Counter
    retried: Counter
    muted: Counter
    outbox_depth: Gauge
    oldest_undelivered_age: Gauge
    ready: Gauge
    turn_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "DeliveryMetrics":
        by = ["channel", "receiver"]
        return cls(
            sent=Counter("casewatch_notifications_sent_total", "Notifications delivered.", by, registry=registry),
            failed=Counter(
                "casewatch_notifications_failed_total", "Notifications parked as failed after their last attempt.",
                by, registry=registry,
            ),
            retried=Counter(
                "casewatch_notifications_retried_total", "Attempts that failed and were scheduled again.",
                by, registry=registry,
            ),
            muted=Counter(
                "casewatch_notifications_muted_total", "Notifications with every alert held back.",
                by, registry=registry,
            ),
            outbox_depth=Gauge(
                "casewatch_outbox_depth", "Notifications not yet delivered (pending or being sent).", registry=registry
            ),
            oldest_undelivered_age=Gauge(
                "casewatch_outbox_oldest_undelivered_age_seconds", "Age of the oldest notification not yet delivered.",
                registry=registry,
            ),
            ready=Gauge(
                "casewatch_dispatcher_ready", "1 while the dispatcher's last turn worked (the database answered).",
                registry=registry,
            ),
            turn_failures=Counter(
                "casewatch_dispatcher_turn_failures_total", "Dispatcher turns that failed (each is tried again).",
                registry=registry,
            ),
        )  # fmt: skip

    def start_at_zero(self, receivers: Iterable[tuple[str, str]]) -> None:
        """Create every (channel, receiver) series of the counters at 0, so the first
        notification counts in `increase()` and the panels show every receiver from the start."""
        for channel, receiver in receivers:
            for counter in (self.sent, self.failed, self.retried, self.muted):
                counter.labels(channel=channel, receiver=receiver)
