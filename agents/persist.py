"""The persist agent's own consumer: alerts from their topic into the database, at their own pace.

Faust serves every agent from one consumer, and hands a fetch's records to the agents one
by one: during a backlog a fetch is all correlate work, and the persist agent stored 20 of
14,911 raised alerts in 54 s while the database thread sat idle. On a consumer (and a
consumer group, `<app id>-persist`) of its own, it fetches alerts whatever the correlate
agent is doing, and commits each batch only once it is stored: a crash stores it again,
under the same alert ids (an upsert: one row each).

A worker upgraded from the Faust persist agent carries that agent's committed offsets on
the alerts topic over to the new group (once, while the new group has none), so it does
not store, and notify, every alert version on the topic again.

The same machinery serves any consumer that stores what it reads (the child timeline,
agents/timeline_consumer.py): `PersistConsumer` takes its topics, group and batch size.
"""

import asyncio
import functools
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError as ConsumerError
from aiokafka.structs import OffsetAndMetadata
from kafka import KafkaAdminClient
from kafka.errors import KafkaError, NoError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from agents.rejecting import Reject
from agents.supervisor import Supervisor
from casewatch.metrics import Metrics
from schemas.alerts import Alert
from streams.codec import Rejection, decode_alert, describe_validation_error
from streams.kafka_security import PLAINTEXT, KafkaSecurity

log = logging.getLogger("casewatch.worker")
T = TypeVar("T")

AGENT = "persist"  # the name its crashes are counted under
PERSIST_BATCH = 500
FETCH_WAIT_MS = 200


def persist_group(app_id: str) -> str:
    return f"{app_id}-{AGENT}"


@dataclass(frozen=True)
class GroupMember:
    """How a worker's consumers take part in their groups: its static identity (None: a
    dynamic member), session and heartbeat, and how they sign in to Kafka."""

    instance_id: str | None = None
    session_timeout_seconds: float = 10.0
    heartbeat_seconds: float = 1.0
    security: KafkaSecurity = PLAINTEXT

    def of(self, consumer: str) -> "GroupMember":
        """The member for one of the worker's consumers: an identity of its own in its group."""
        return replace(self, instance_id=f"{self.instance_id}-{consumer}" if self.instance_id else None)


def alert_consumer(
    *,
    app_id: str,
    bootstrap_servers: str,
    alerts_topic: str,
    store: Callable[[list[Alert]], object],
    reject: Reject,
    supervisor: Supervisor,
    metrics: Metrics,
    member: GroupMember,
) -> "PersistConsumer":
    """The persist agent: each batch of alerts decoded (a record that is not an alert is
    dead-lettered), stored with `store` (casewatch.storage.upsert_alerts, off the event loop,
    retried while the database is unavailable), then counted, with its event-to-stored latency."""

    def failed(error: BaseException, pause: float) -> None:
        metrics.store_failures.inc()
        log.error("storing alerts failed (%s); retrying in %.1fs", type(error).__name__, pause)

    async def batch(records: Sequence[Any]) -> None:
        alerts: list[Alert] = []
        for record in records:
            try:
                alerts.append(decode_alert(record.value or b""))  # no value: invalid too
            except ValidationError as error:
                await reject(record, Rejection("invalid_alert", describe_validation_error(error)))
        await until_stored(functools.partial(store, alerts), retried=(SQLAlchemyError,), failed=failed)
        now = datetime.now(UTC)
        metrics.alerts_persisted.inc(len(alerts))
        for alert in alerts:
            if alert.ingested_at is not None:
                metrics.event_to_alert_latency.observe(max(0.0, (now - alert.ingested_at).total_seconds()))

    lag = metrics.store_lag.labels(consumer=AGENT)
    lag.set(0)
    return PersistConsumer(
        bootstrap_servers=bootstrap_servers,
        topics=[alerts_topic],
        group_id=persist_group(app_id),
        carry_over_from=app_id,  # where the Faust persist agent of earlier versions committed
        handle=lambda records: supervisor.until_done(AGENT, functools.partial(batch, records)),
        crashed=functools.partial(supervisor.crashed, AGENT),
        member=member.of(AGENT),
        lag=lag.set,
    )


def carry_over_offsets(
    bootstrap_servers: str,
    topic: str,
    *,
    old_group: str,
    new_group: str,
    timeout: float = 30.0,
    security: KafkaSecurity = PLAINTEXT,
) -> int:
    """Commit `old_group`'s offsets on `topic` for `new_group`, if it has none yet; how many.

    Blocking (kafka-python): run it before the consumer starts, off the event loop. The
    broker takes the commit only while `new_group` has no members: a worker starting later
    finds the offsets there already. Retried while the broker says to (a new cluster has no
    group coordinator for its first seconds).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _carry_over_once(
                bootstrap_servers, topic, old_group=old_group, new_group=new_group, security=security
            )
        except KafkaError as error:
            if not error.retriable or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _carry_over_once(
    bootstrap_servers: str, topic: str, *, old_group: str, new_group: str, security: KafkaSecurity
) -> int:
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="casewatch-persist-setup", **security.client_options()
    )
    try:
        committed = admin.list_group_offsets([new_group, old_group])
        if any(tp.topic == topic for tp in committed.get(new_group, {})):
            return 0
        old = {tp: at for tp, at in committed.get(old_group, {}).items() if tp.topic == topic}
        answers = admin.alter_group_offsets(new_group, old) if old else {}
        return sum(1 for error in answers.values() if error is NoError)
    finally:
        admin.close()


async def until_stored(
    work: Callable[[], T], *, retried: tuple[type[BaseException], ...], failed: Callable[[BaseException, float], None]
) -> T:
    """`work()` off the event loop (consumption carries on meanwhile), again and again while
    it raises `retried` (the database is unavailable: dropping the batch would lose it, and
    its offsets are not committed until this returns); `failed(error, pause)` before each pause."""
    attempt = 0
    while True:
        try:
            return await asyncio.to_thread(work)
        except retried as error:
            pause = min(30.0, 0.5 * 2**attempt)
            failed(error, pause)
            await asyncio.sleep(pause)
            attempt += 1


class PersistConsumer:
    """Consume `topics` in `group_id`, hand each batch to `handle`, commit once it returns."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topics: Sequence[str],
        group_id: str,
        handle: Callable[[Sequence[Any]], Awaitable[None]],
        crashed: Callable[[BaseException], None],
        carry_over_from: str | None = None,
        member: GroupMember | None = None,
        batch: int = PERSIST_BATCH,
        lag: Callable[[int], object] = lambda _messages: None,
    ) -> None:
        """`lag(messages)` after each fetch: the records on its partitions not handled yet."""
        self.bootstrap_servers, self.topics, self.group_id = bootstrap_servers, tuple(topics), group_id
        self.lag = lag
        self.carry_over_from, self.batch = carry_over_from, batch
        self.handle, self.crashed = handle, crashed
        member = member or GroupMember()
        self.instance_id = member.instance_id
        self.session_timeout_ms = int(member.session_timeout_seconds * 1000)
        self.heartbeat_ms = int(member.heartbeat_seconds * 1000)
        self.security = member.security

    async def run(self) -> None:
        """Until cancelled (the worker stopping). `handle` retries a batch until it is stored;
        a consumer that fails (no broker at start, say) is a crash, then a new consumer."""
        await self._carry_over()
        for attempt in itertools.count():
            try:
                await self._consume()
            except Exception as error:  # counted (and a crash loop stops the worker), never silent
                self.crashed(error)
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            client_id=self.group_id,
            group_instance_id=self.instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_ms,
            max_poll_records=self.batch,
            **self.security.client_options(),
        )
        await consumer.start()
        try:
            while True:
                fetched = await consumer.getmany(timeout_ms=FETCH_WAIT_MS, max_records=self.batch)
                records = [record for partition in fetched.values() for record in partition]
                self.lag(len(records) + await _behind(consumer))  # this batch is not stored yet either
                if not records:
                    continue
                await self.handle(records)
                offsets = {tp: OffsetAndMetadata(batch[-1].offset + 1, "") for tp, batch in fetched.items() if batch}
                try:
                    await consumer.commit(offsets)
                except ConsumerError as error:  # a rebalance took the partitions: their new owner stores them again
                    log.warning("%s: offsets not committed (%s); the batch may be stored again", self.group_id,
                                _name(error))  # fmt: skip
        finally:
            await consumer.stop()

    async def _carry_over(self) -> None:
        if self.carry_over_from is None:
            return
        for topic in self.topics:
            try:
                moved = await asyncio.to_thread(
                    carry_over_offsets,
                    self.bootstrap_servers,
                    topic,
                    old_group=self.carry_over_from,
                    new_group=self.group_id,
                    security=self.security,
                )
            except Exception as error:  # not worth a crash: without it, records are at worst stored again
                log.warning("%s offsets not carried over from %s: %s", self.group_id, self.carry_over_from,
                            _name(error))  # fmt: skip
                continue
            if moved:
                log.warning("%s: carried %d partitions' offsets over from %s", self.group_id, moved,
                            self.carry_over_from)  # fmt: skip


async def _behind(consumer: AIOKafkaConsumer) -> int:
    """Records on the consumer's partitions past those it has fetched: the end it knows from
    its last fetch less its position (0 where it knows no end yet)."""
    total = 0
    for tp in consumer.assignment():
        end = consumer.highwater(tp)
        if end is not None:
            total += max(0, end - await consumer.position(tp))
    return total


def _name(error: BaseException) -> str:
    return type(error).__name__
