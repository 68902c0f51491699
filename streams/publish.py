"""Publish validated events to their topics, and rejections to the dead-letter topic."""

from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from kafka import KafkaProducer

from schemas.events import CaseEvent
from streams.codec import Rejection, dead_letter, encode
from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.topics import Topics


@dataclass(frozen=True)
class Record:
    """One message to produce. Both publishers (kafka-python here, aiokafka for HTTP) send these."""

    topic: str
    key: bytes | None
    value: bytes


def event_record(topics: Topics, event: CaseEvent) -> Record:
    """An event on its type's topic, keyed by child ID so one child's events stay in order."""
    return Record(topics.for_event_type(event.event_type), event.child_id.encode(), encode(event))


def rejection_record(topics: Topics, raw: bytes | None, rejection: Rejection, *, origin: str) -> Record:
    """A refused message on the dead-letter topic, with its reason and where it came from."""
    return Record(topics.dead_letter, None, dead_letter(raw, rejection, topic=origin))


class PublishError(RuntimeError):
    """Records the broker did not take: `failed` counts them by the producer's reason."""

    def __init__(self, failed: Counter[str]) -> None:
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(failed.items()))
        super().__init__(
            f"{sum(failed.values())} record(s) did not reach Kafka ({reasons}); publishing again is safe: "
            "an event already applied is applied once"
        )
        self.failed = failed


class Publisher:
    """A kafka-python producer that knows casewatch's topics. Keys are child IDs.

    Every send is checked: a record the broker never took (its retries ran out, say) is
    counted, and `flush` (and leaving the `with` block) raises `PublishError` for it, so
    an ingest never reports success for an event that is not on Kafka.
    """

    def __init__(self, bootstrap_servers: str, topics: Topics, *, security: KafkaSecurity = PLAINTEXT) -> None:
        self.topics = topics
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()  # by the producer's error, since the last flush
        # kafka-python's defaults keep retrying for `delivery_timeout_ms` (2 minutes) with the
        # idempotent producer, so a busy broker costs time, not records, duplicates or order.
        # A fixed count of retries (5, once) gave up within seconds on a loaded machine and
        # silently dropped events (a benchmark's 7 of 100,000).
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id="casewatch-ingest",
            acks="all",
            linger_ms=20,
            **security.client_options(),
        )

    def event(self, event: CaseEvent) -> Any:
        """Send an event; the future returned is done, with the broker's answer, after `flush`."""
        sent = self._send(event_record(self.topics, event))
        self.sent[event.event_type] += 1
        return sent

    def rejection(self, raw: bytes | None, rejection: Rejection, *, origin: str) -> None:
        self._send(rejection_record(self.topics, raw, rejection, origin=origin))
        self.sent["dead_letter"] += 1

    def _send(self, record: Record) -> Any:
        return self._checked(self._producer.send(record.topic, key=record.key, value=record.value))

    def _checked(self, future: Any) -> Any:
        future.add_errback(lambda error: self.failed.update([type(error).__name__]))
        return future

    def raw(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Bytes as they are, bypassing validation (and, given `partition`, the partitioner):
        for the demo's and tests' bad messages."""
        self._checked(self._producer.send(topic, key=key, value=value, partition=partition, headers=headers))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until the broker has answered for every record sent; raise `PublishError` for those it refused."""
        self._producer.flush(timeout)
        if self.failed:
            failed, self.failed = self.failed, Counter()
            raise PublishError(failed)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
