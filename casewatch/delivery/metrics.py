"""Delivery metrics as one typed bundle on a registry passed in (tests use a fresh one)."""

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
        )  # fmt: skip
