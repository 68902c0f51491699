"""Every topic casewatch uses, in one place: names, partitions, keys and retention.

All topics are keyed by the case system's child ID and share one partition count, so
they are co-partitioned: every event of one child reaches the same agent instance and
the same partition of the per-child state table.
"""

from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000
# Input topics are kept beyond the longest rule window, so a new worker or a rebuilt
# table can be replayed from them.
INPUT_RETENTION_MS = 400 * DAY_MS
ALERT_RETENTION_MS = 400 * DAY_MS
# Dead letters hold the original bytes, which may carry personal data sent by mistake:
# keep them only long enough for the data team to act.
DEAD_LETTER_RETENTION_MS = 14 * DAY_MS

EVENT_TYPES = ("referral", "assessment", "agreement", "closure")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    purpose: str

    @property
    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}


@dataclass(frozen=True)
class Topics:
    """The topic names for one deployment (the prefix separates tenants and tests)."""

    prefix: str = "casewatch"
    partitions: int = 6

    def for_event_type(self, event_type: str) -> str:
        if event_type not in EVENT_TYPES:
            raise KeyError(f"no topic for event type {event_type!r}")
        return f"{self.prefix}.{event_type}s"

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.for_event_type(t) for t in EVENT_TYPES)

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead-letter"

    def event_type_of(self, topic: str) -> str | None:
        """The event type a topic carries, or None for a topic that is not an input."""
        for event_type in EVENT_TYPES:
            if topic == self.for_event_type(event_type):
                return event_type
        return None

    def specs(self) -> list[TopicSpec]:
        specs = [
            TopicSpec(self.for_event_type(t), self.partitions, INPUT_RETENTION_MS, f"{t} events")
            for t in EVENT_TYPES
        ]
        specs.append(TopicSpec(self.alerts, self.partitions, ALERT_RETENTION_MS, "alerts raised"))
        specs.append(
            TopicSpec(self.dead_letter, self.partitions, DEAD_LETTER_RETENTION_MS, "rejected messages")
        )
        return specs
