"""The dead-letter topic read back: its records, which of them to pick, and what a redrive does.

A dead-letter record (streams.codec.dead_letter) holds no byte of what was refused, only
the reason, where it was (topic, partition, offset) and its SHA-256 and size. So a redrive
reads the original again from its input topic, while that topic keeps it, checks the
digest, and validates it as `casewatch ingest` does; the publishing is the caller's.
Pure, but for `TopicReader`, which reads a topic with kafka-python in bounded time.
"""

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from schemas.events import CaseEvent
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.codec import Rejection, decode_event
from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.topics import Topics


class DeadLetterError(ValueError):
    """A dead-letter id that cannot be read, or a topic that cannot be read in time."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic. `id` is its own position, `topic:partition:offset`;
    `topic`, `partition` and `offset` are where the refused message was (for a file,
    `topic` is `file:position` and the others are None)."""

    id: str
    code: str
    reason: str
    topic: str | None
    partition: int | None
    offset: int | None
    dead_lettered_at: datetime | None
    original_sha256: str | None
    original_size: int | None

    @classmethod
    def parse(cls, id: str, value: bytes | None) -> "DeadLetter | None":
        """The record, or None when the bytes are not a dead-letter record (nothing casewatch wrote)."""
        try:
            document = json.loads(value) if value is not None else None
            if not isinstance(document, dict) or not isinstance(document.get("code"), str):
                return None
            return cls(
                id=id,
                code=document["code"],
                reason=str(document.get("reason") or ""),
                topic=_optional(document.get("topic"), str),
                partition=_optional(document.get("partition"), int),
                offset=_optional(document.get("offset"), int),
                dead_lettered_at=_moment(document.get("dead_lettered_at")),
                original_sha256=_optional(document.get("original_sha256"), str),
                original_size=_optional(document.get("original_size"), int),
            )
        except (ValueError, RecursionError):
            return None

    @property
    def source(self) -> str:
        """Where the refused message was, as `topic[partition]@offset` (or the file and position)."""
        if self.topic is None:
            return "(unknown)"
        if self.partition is None or self.offset is None:
            return self.topic
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["dead_lettered_at"] = self.dead_lettered_at.isoformat() if self.dead_lettered_at else None
        return document


@dataclass(frozen=True)
class Selection:
    """Which dead letters to list or redrive: by code, source topic and time (each optional)."""

    codes: frozenset[str] = frozenset()
    topic: str | None = None  # the source topic, or a file's name (its records' topic is `file:position`)
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.codes and letter.code not in self.codes:
            return False
        if self.topic is not None and not (
            letter.topic == self.topic or (letter.topic or "").startswith(f"{self.topic}:")
        ):
            return False
        when = letter.dead_lettered_at
        if self.since is not None and (when is None or when < self.since):
            return False
        return self.until is None or (when is not None and when < self.until)


def parse_id(text: str, topics: Topics) -> tuple[int, int]:
    """The (partition, offset) of a dead-letter id: `topic:partition:offset`, or `partition:offset`."""
    parts = text.strip().split(":")
    if len(parts) == 3:
        topic, *position = parts
        if topic != topics.dead_letter:
            raise DeadLetterError(f"{text}: not on this deployment's dead-letter topic ({topics.dead_letter})")
    elif len(parts) == 2:
        position = parts
    else:
        raise DeadLetterError(f"{text}: a dead-letter id is TOPIC:PARTITION:OFFSET, as `dead-letters list` shows")
    try:
        partition, offset = int(position[0]), int(position[1])
    except ValueError:
        raise DeadLetterError(f"{text}: the partition and offset are numbers") from None
    if partition < 0 or offset < 0 or partition >= topics.partitions:
        raise DeadLetterError(f"{text}: no such position on {topics.dead_letter} ({topics.partitions} partitions)")
    return partition, offset


def letter_id(topic: str, partition: int, offset: int) -> str:
    return f"{topic}:{partition}:{offset}"


@dataclass(frozen=True)
class Skipped:
    """Why a dead letter was not redriven (nothing was published for it)."""

    reason: str


def redrive_event(
    letter: DeadLetter,
    original: bytes | None,
    topics: Topics,
    *,
    retained: bool,
    policy: InputPolicy = DEFAULT_POLICY,
) -> CaseEvent | Skipped:
    """The event to publish again for a dead letter, given the bytes at its source position.

    `original` is what the input topic holds there now (`retained` False when the topic no
    longer has that offset). It is validated as `casewatch ingest` validates a line of a
    file, so the event is published to its type's topic, keyed by its child and with its own
    event id: whatever it was refused for (key, topic, partition, a code list or an
    admission setting since corrected) is judged afresh, and a second redrive is a redelivery.
    """
    if letter.topic in (topics.ticks, topics.team_facts, topics.alerts):
        return Skipped("a message of the workers' own topics: nothing of a case system's to redrive")
    if letter.topic is None or letter.topic not in topics.inputs or letter.partition is None or letter.offset is None:
        return Skipped("not refused on an input topic: correct the source file and redrive it with --file")
    if not retained:
        return Skipped(f"{letter.source} is no longer on its topic (retention): correct it at source, use --file")
    if original is None or letter.original_sha256 is None:
        return Skipped(f"{letter.source} has no value to redrive")
    if hashlib.sha256(original).hexdigest() != letter.original_sha256:
        return Skipped(f"the message at {letter.source} does not match the dead-letter record's SHA-256")
    event = decode_event(original, policy=policy)
    if isinstance(event, Rejection):
        return Skipped(f"still refused: {event.code}: {event.reason}")
    return event


class TopicReader:
    """Reads records back from Kafka with kafka-python, never waiting longer than `timeout` seconds."""

    def __init__(self, bootstrap_servers: str, *, timeout: float = 30.0, security: KafkaSecurity = PLAINTEXT) -> None:
        self.timeout = timeout
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id="casewatch-dead-letters",
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=int(timeout * 1000),
            bootstrap_timeout_ms=int(timeout * 1000),
            **security.client_options(),
        )

    def read_all(self, topic: str) -> list[Any]:
        """Every record of `topic`, from the start to the end offsets it has when asked (new ones wait)."""
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions:
            raise DeadLetterError(f"there is no topic {topic} (is CASEWATCH_TOPIC_PREFIX right?)")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_beginning(*assigned)
        ends = self._consumer.end_offsets(assigned)
        return list(self._until(assigned, ends, lambda record: True))

    def record_at(self, topic: str, partition: int, offset: int) -> tuple[Any | None, bool]:
        """The record at a position, and whether the topic still has that offset."""
        tp = TopicPartition(topic, partition)
        if partition not in (self._consumer.partitions_for_topic(topic) or set()):
            return None, False
        first = self._consumer.beginning_offsets([tp])[tp]
        end = self._consumer.end_offsets([tp])[tp]
        if not first <= offset < end:
            return None, False
        self._consumer.assign([tp])
        self._consumer.seek(tp, offset)
        for record in self._until([tp], {tp: offset + 1}, lambda record: record.offset >= offset):
            return (record, True) if record.offset == offset else (None, False)
        return None, False

    def _until(self, assigned: list[TopicPartition], ends: dict[TopicPartition, int], wanted: Any) -> Iterable[Any]:
        deadline = time.monotonic() + self.timeout
        while any(self._consumer.position(tp) < ends[tp] for tp in assigned):
            if time.monotonic() > deadline:
                names = ", ".join(sorted({tp.topic for tp in assigned}))
                raise DeadLetterError(f"could not read {names} within {self.timeout:g}s (raise --timeout)")
            for batch in self._consumer.poll(timeout_ms=500).values():
                for record in batch:
                    if record.offset < ends[TopicPartition(record.topic, record.partition)] and wanted(record):
                        yield record

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> "TopicReader":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _optional(value: Any, kind: type) -> Any:
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
