"""Every topic casewatch uses, in one place: names, partitions, keys and retention.

All topics share one partition count and, but for the internal team-facts topic (keyed by
team), are keyed by the case system's child ID, so they are co-partitioned: every event
of one child reaches the same agent instance and the same partition of the per-child
state table.
"""

import functools
from dataclasses import dataclass

from kafka.partitioner.default import murmur2

DAY_MS = 24 * 60 * 60 * 1000
# Input topics are kept beyond the longest rule window, so a new worker or a rebuilt
# table can be replayed from them.
INPUT_RETENTION_MS = 400 * DAY_MS
ALERT_RETENTION_MS = 400 * DAY_MS
# Dead letters say where a refused message was and why (never its bytes), about a child:
# kept long enough for the data team to act (`casewatch dead-letters`), no longer.
DEAD_LETTER_RETENTION_MS = 14 * DAY_MS
# Internal topics of the workers. A tick is only a nudge to run the clock: stale ones are
# worthless. Team facts are folded into the team table (which has its own changelog), but
# are kept a month so a team table rebuilt from scratch can be refed.
TICK_RETENTION_MS = 1 * DAY_MS
TEAM_FACT_RETENTION_MS = 30 * DAY_MS

# Which topic carries each event type. A new event type adds a line here (and only here).
TOPIC_OF_EVENT_TYPE: dict[str, str] = {
    "contact": "referrals",
    "referral": "referrals",
    "assessment": "assessments",
    "strategy_discussion": "assessments",
    "section47": "assessments",
    "plan": "plans",
    "agreement": "agreements",
    "closure": "closures",
}
INPUT_TOPICS = tuple(dict.fromkeys(TOPIC_OF_EVENT_TYPE.values()))


# The worker's tables (agents.live), each backed by a compacted changelog topic that Faust
# names "<app id>-<table>-changelog".
CHILD_STATE_TABLE = "child-state"
TEAM_STATE_TABLE = "team-state"
TABLES = (CHILD_STATE_TABLE, TEAM_STATE_TABLE)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    purpose: str
    compacted: bool = False  # a changelog: the latest record per key is kept, forever

    @property
    def config(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact"}
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}


@dataclass(frozen=True)
class Topics:
    """The topic names for one deployment (the prefix separates tenants and tests)."""

    prefix: str = "casewatch"
    partitions: int = 6

    def for_event_type(self, event_type: str) -> str:
        if event_type not in TOPIC_OF_EVENT_TYPE:
            raise KeyError(f"no topic for event type {event_type!r}")
        return f"{self.prefix}.{TOPIC_OF_EVENT_TYPE[event_type]}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}.{name}" for name in INPUT_TOPICS)

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead-letter"

    @property
    def ticks(self) -> str:
        """The clock's nudges to the child agent, keyed by child ID (co-partitioned with the inputs)."""
        return f"{self.prefix}.ticks"

    @property
    def team_facts(self) -> str:
        """Per-referral and per-agreement facts, and ticks, for the team aggregate, keyed by team."""
        return f"{self.prefix}.team-facts"

    def partition_for(self, child_id: str) -> int:
        """The partition of a child (or, on team-facts, a team): murmur2 of the key, as the Java
        client, kafka-python and aiokafka compute it. Every producer must use it (librdkafka:
        partitioner=murmur2_random), or a child's events and state would be split across workers."""
        return partition_of(child_id.encode(), self.partitions)

    def carries(self, topic: str, event_type: str) -> bool:
        """Whether `event_type` belongs on `topic` (an event on the wrong topic is refused)."""
        return event_type in TOPIC_OF_EVENT_TYPE and topic == self.for_event_type(event_type)

    def specs(self) -> list[TopicSpec]:
        specs = [TopicSpec(name, self.partitions, INPUT_RETENTION_MS, f"case events: {name}") for name in self.inputs]
        specs.append(TopicSpec(self.alerts, self.partitions, ALERT_RETENTION_MS, "alerts raised"))
        specs.append(TopicSpec(self.dead_letter, self.partitions, DEAD_LETTER_RETENTION_MS, "rejected messages"))
        specs.append(TopicSpec(self.ticks, self.partitions, TICK_RETENTION_MS, "clock ticks for the time-driven rules"))
        specs.append(TopicSpec(self.team_facts, self.partitions, TEAM_FACT_RETENTION_MS, "facts for team rates"))
        return specs

    def changelogs(self, app_id: str) -> list[TopicSpec]:
        """The changelog topics of the worker's tables. Created before the agents start: an agent
        whose table has no changelog topic yet crashes on its first write."""
        return [
            TopicSpec(f"{app_id}-{table}-changelog", self.partitions, -1, f"changelog of the {table} table", True)
            for table in TABLES
        ]


def partition_of(key: bytes, partitions: int) -> int:
    """The partition the producers' default partitioner gives a record with this key (murmur2):
    of a child's events, its state's changelog record and its alerts alike."""
    return _key_hash(key) % partitions


# kafka-python's murmur2 is pure Python (about 2% of the worker's samples in the live bench,
# docs/benchmarks.md), and the same child is hashed several times in a short while: by the
# correlate agent's decode, its state's changelog record, then the timeline consumer's. A few
# thousand recent keys, a few hundred kilobytes.
@functools.lru_cache(maxsize=4096)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key) & 0x7FFFFFFF)
