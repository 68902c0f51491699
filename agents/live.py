"""The live side: a Faust app whose agents apply the rules to the topics.

The agents are thin: decode, call `engine.apply`, send. Every message either moves a
child's state or goes to the dead-letter topic with its reason; an unexpected error on
one message dead-letters that message and the agent carries on.
"""

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import ValidationError
from sqlalchemy import Engine

from agents.engine import apply
from agents.rules import RulesConfig
from agents.state import ChildState
from casewatch.metrics import Metrics
from casewatch.storage import StoredHook, upsert_alerts
from schemas.alerts import Alert
from schemas.events import CaseEvent
from streams.codec import Rejection, dead_letter, decode_alert, decode_event, describe_validation_error, encode
from streams.topics import Topics

log = logging.getLogger("casewatch.worker")

PERSIST_BATCH = 500
PERSIST_WITHIN_SECONDS = 0.2


def create_app(
    *,
    app_id: str,
    bootstrap_servers: str,
    topics: Topics,
    rules: RulesConfig,
    engine: Engine,
    metrics: Metrics,
    state_dir: str,
    on_stored: StoredHook | None = None,
) -> faust.App:
    """The worker's Faust app: the correlate agent, the persist agent and the state table.

    `on_stored` runs in each batch's database transaction (the delivery outbox).
    """
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap_servers}",
        store="memory://",  # rebuilt from the changelog topic on start
        datadir=state_dir,
        topic_partitions=topics.partitions,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=True,
        producer_acks=-1,
    )
    # Bytes in and out: decoding is ours, so a bad message is dead-lettered, not a crash.
    inputs = app.topic(*topics.inputs, key_serializer="raw", value_serializer="raw")
    alerts_topic = app.topic(topics.alerts, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(topics.dead_letter, key_serializer="raw", value_serializer="raw")
    states = app.Table("child-state", default=dict, partitions=topics.partitions)
    database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casewatch-db")

    async def reject(message: Any, rejection: Rejection) -> None:
        metrics.events_dead_lettered.labels(reason=rejection.code).inc()
        log.warning("dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, rejection.reason)
        record = dead_letter(
            message.value, rejection, topic=message.topic, partition=message.partition, offset=message.offset
        )
        await dead_letters.send(key=message.key, value=record)

    async def correlate_one(message: Any) -> None:
        decoded = decode_event(message.value, key=message.key, topic=message.topic, topics=topics)
        if isinstance(decoded, Rejection):
            await reject(message, decoded)
            return
        event: CaseEvent = decoded
        metrics.events_consumed.labels(event_type=event.event_type).inc()
        outcome = apply(ChildState.from_dict(states[event.child_id]), event, rules)
        if outcome.stale:
            metrics.events_stale.labels(event_type=event.event_type).inc()
            return
        states[event.child_id] = outcome.state.to_dict()
        ingested_at = datetime.fromtimestamp(message.timestamp, UTC)
        for alert in outcome.alerts:
            stamped = alert.model_copy(update={"ingested_at": ingested_at})
            await alerts_topic.send(key=message.key, value=encode(stamped))
            metrics.alerts_raised.labels(rule=alert.rule, severity=alert.severity).inc()

    @app.agent(inputs, name="correlate")
    async def correlate(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                await correlate_one(event.message)
            except Exception as error:  # one bad message must never stop the worker
                log.exception("error on %s[%s]@%s", event.message.topic, event.message.partition, event.message.offset)
                await reject(event.message, Rejection("internal_error", f"{type(error).__name__} while applying rules"))

    @app.agent(alerts_topic, name="persist")
    async def persist(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take(PERSIST_BATCH, within=PERSIST_WITHIN_SECONDS):
            alerts: list[Alert] = []
            for value in batch:
                try:
                    alerts.append(decode_alert(value))
                except ValidationError as error:
                    rejection = Rejection("invalid_alert", describe_validation_error(error))
                    metrics.events_dead_lettered.labels(reason=rejection.code).inc()
                    log.warning("dead-lettered a message on %s: %s", topics.alerts, rejection.reason)
                    await dead_letters.send(value=dead_letter(value, rejection, topic=topics.alerts))
            loop = asyncio.get_running_loop()
            # Database writes run off the event loop so consumption carries on meanwhile.
            store = functools.partial(upsert_alerts, engine=engine, alerts=alerts, on_stored=on_stored)
            await loop.run_in_executor(database, store)
            now = datetime.now(UTC)
            for alert in alerts:
                metrics.alerts_persisted.inc()
                if alert.ingested_at is not None:
                    metrics.event_to_alert_latency.observe(max(0.0, (now - alert.ingested_at).total_seconds()))

    return app
