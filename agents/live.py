"""The live side: a Faust app whose agents apply the rules to the topics.

The agents are thin: decode, call the engine, send. Every message either moves a
child's state or goes to the dead-letter topic with its reason; an unexpected error on
one message dead-letters that message and the agent carries on. The clock (agents.sweep)
reaches the states through the same agents, as ticks on internal topics.
"""

import asyncio
import dataclasses
import functools
import itertools
import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import faust
from faust.types import EventT
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from agents.engine import apply, apply_team_fact, tick, tick_team
from agents.rules import RulesConfig
from agents.state import ChildState, TeamFact, TeamState
from agents.sweep import Sweep, decode_tick
from casewatch.metrics import Metrics
from casewatch.storage import StoredHook, upsert_alerts
from schemas.alerts import Alert
from schemas.events import CaseEvent
from streams.codec import Rejection, dead_letter, decode_alert, decode_event, describe_validation_error, encode
from streams.topics import Topics

log = logging.getLogger("casewatch.worker")

# Batches amortise per-message work; `within` bounds the latency they add when traffic is light.
CORRELATE_BATCH = 1000
CORRELATE_WITHIN_SECONDS = 0.01
# Team facts need no haste (a team month is judged days after it ends), and each batch
# writes every team it touched to the changelog: long batches keep those writes few.
TEAMS_BATCH = 10_000
TEAMS_WITHIN_SECONDS = 1.0
PERSIST_BATCH = 500
PERSIST_WITHIN_SECONDS = 0.02


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
    """The worker's Faust app: the correlate, teams and persist agents, their tables, and the clock.

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
        # Without linger every changelog write and alert is its own produce request: the
        # profile showed a fifth of the worker's time in socket writes. 5 ms batches them.
        producer_linger_ms=5,
    )
    # Bytes in and out: decoding is ours, so a bad message is dead-lettered, not a crash.
    inputs = app.topic(*topics.inputs, topics.ticks, key_serializer="raw", value_serializer="raw")
    alerts_topic = app.topic(topics.alerts, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(topics.dead_letter, key_serializer="raw", value_serializer="raw")
    # The state of a child is written to the changelog partition its key hashes to, which
    # is the partition its events come on (decode_event refuses any other): batches may mix
    # partitions, so the table cannot take the partition from the current event.
    states = app.Table("child-state", default=dict, partitions=topics.partitions, key_type=bytes, use_partitioner=True)
    # Keyed by team, fed by the team-facts topic (keyed by team too), written the same way.
    team_states = app.Table(
        "team-state", default=dict, partitions=topics.partitions, key_type=bytes, use_partitioner=True
    )
    ticks = app.topic(topics.ticks, key_serializer="raw", value_serializer="raw")
    team_facts = app.topic(topics.team_facts, key_serializer="raw", value_serializer="raw")
    sweep = Sweep(app, topics=topics, rules=rules, metrics=metrics, children=states, teams=team_states,
                  ticks=ticks, team_facts=team_facts)  # fmt: skip
    database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casewatch-db")

    async def reject(message: Any, rejection: Rejection) -> None:
        metrics.events_dead_lettered.labels(reason=rejection.code).inc()
        log.warning("dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, rejection.reason)
        record = dead_letter(
            message.value, rejection, topic=message.topic, partition=message.partition, offset=message.offset
        )
        await dead_letters.send(key=message.key, value=record)

    async def send_alerts(raised: list[tuple[bytes, Alert]]) -> None:
        for key, alert in raised:
            await alerts_topic.send(key=key, value=encode(alert))
            metrics.alerts_raised.labels(rule=alert.rule, severity=alert.severity).inc()

    async def correlate_batch(batch: Sequence[EventT[bytes]]) -> None:
        """Apply a batch; each child's state is read and written once per batch, not per event."""
        touched: dict[str, ChildState] = {}
        raised: list[tuple[bytes, Alert]] = []
        facts: list[TeamFact] = []
        days: dict[Any, date] = {}  # input partition -> latest event day in the batch, for the clock
        for item in batch:
            message = item.message
            try:
                if message.topic == topics.ticks:  # the clock: run the time-driven rules for this child
                    key, value = message.key, message.value
                    if key is None or value is None:
                        raise ValueError("a tick without a key or a value")
                    known = touched.get(key.decode()) or states[key]
                    if known:  # a child forgotten since the tick was sent has nothing due
                        state = known if isinstance(known, ChildState) else ChildState.from_dict(known)
                        touched[key.decode()] = state
                        now = decode_tick(json.loads(value))
                        raised += [(key, a) for a in tick(state, key.decode(), now, rules).alerts]
                    continue
                decoded = decode_event(
                    message.value, key=message.key, topic=message.topic, partition=message.partition, topics=topics
                )
                if isinstance(decoded, Rejection):
                    await reject(message, decoded)
                    continue
                event: CaseEvent = decoded
                days[message.tp] = max(event.day, days.get(message.tp, event.day))
                metrics.events_consumed.labels(event_type=event.event_type).inc()
                state = touched.get(event.child_id) or ChildState.from_dict(states[event.child_id.encode()])
                outcome = apply(state, event, rules)
                if outcome.stale:
                    metrics.events_stale.labels(event_type=event.event_type).inc()
                    continue
                touched[event.child_id] = outcome.state
                ingested_at = datetime.fromtimestamp(message.timestamp, UTC)
                raised += [
                    (event.child_id.encode(), a.model_copy(update={"ingested_at": ingested_at})) for a in outcome.alerts
                ]
                # Stamped with the message, so the team counts a change once however often it is handled.
                source = f"{message.topic}:{message.partition}"
                facts += [
                    dataclasses.replace(fact, source=source, offset=message.offset, index=index)
                    for index, fact in enumerate(outcome.team_facts)
                ]
            except Exception as error:  # one bad message must never stop the worker
                log.exception("error on %s[%s]@%s", message.topic, message.partition, message.offset)
                await reject(message, Rejection("internal_error", f"{type(error).__name__} while applying rules"))
        # A child state says which changes it has sent its teams: those changes are on the
        # broker before the state is written, or a crash in between would lose them for good.
        for fact in facts:
            await team_facts.send(key=fact.team.encode(), value=fact.encode())
        if facts:
            await app.producer.flush()
        for child_id, state in touched.items():
            states[child_id.encode()] = state.to_dict()
        await send_alerts(raised)
        for tp, day in days.items():
            sweep.saw(tp, day)
        for item in batch:
            sweep.handled(item.message)

    @app.agent(inputs, name="correlate")
    async def correlate(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # take_events is on the class, not the protocol
        # Offsets are committed only after a batch is applied: a crash replays it, which the
        # engine's idempotence makes harmless.
        async for batch in stream.take_events(CORRELATE_BATCH, within=CORRELATE_WITHIN_SECONDS):
            await correlate_batch(batch)

    async def teams_batch(batch: Sequence[EventT[bytes]]) -> None:
        """Fold team facts, and run the team rule on the clock's ticks; each team read and written once."""
        touched: dict[bytes, TeamState] = {}
        raised: list[tuple[bytes, Alert]] = []
        for item in batch:
            message = item.message
            key, value = message.key, message.value
            try:
                if key is None or value is None:
                    raise ValueError("a team fact without a key or a value")
                state = touched.get(key) or TeamState.from_dict(team_states[key])
                touched[key] = state
                document = json.loads(value)
                if document.get("kind") == "tick":
                    raised += [(key, a) for a in tick_team(state, key.decode(), decode_tick(document), rules)]
                else:
                    apply_team_fact(state, TeamFact.decode(document), rules)
            except Exception as error:  # internal messages, but the same rule: carry on
                log.exception("error on %s[%s]@%s", message.topic, message.partition, message.offset)
                await reject(message, Rejection("internal_error", f"{type(error).__name__} on a team fact"))
        for key, state in touched.items():
            team_states[key] = state.to_dict()
        await send_alerts(raised)
        for item in batch:
            sweep.handled(item.message)

    @app.agent(team_facts, name="teams")
    async def teams(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        async for batch in stream.take_events(TEAMS_BATCH, within=TEAMS_WITHIN_SECONDS):
            await teams_batch(batch)

    @app.timer(interval=rules.timer_seconds)  # type: ignore[untyped-decorator]  # on every worker
    async def clock() -> None:
        try:
            await sweep.run()
        except Exception:  # the clock tries again next time; the agents are unaffected
            log.exception("the clock could not run")

    async def store(alerts: list[Alert]) -> None:
        """Write alerts, retrying while the database is unavailable: dropping them would lose
        alerts, and the offsets are not committed until this returns."""
        loop = asyncio.get_running_loop()
        for attempt in itertools.count():
            try:
                # Off the event loop, so consumption carries on meanwhile.
                await loop.run_in_executor(
                    database, functools.partial(upsert_alerts, engine=engine, alerts=alerts, on_stored=on_stored)
                )
                return
            except SQLAlchemyError as error:
                pause = min(30.0, 0.5 * 2**attempt)
                log.error("storing %d alerts failed (%s); retrying in %.1fs", len(alerts), type(error).__name__, pause)
                await asyncio.sleep(pause)

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
            await store(alerts)
            now = datetime.now(UTC)
            for alert in alerts:
                metrics.alerts_persisted.inc()
                if alert.ingested_at is not None:
                    metrics.event_to_alert_latency.observe(max(0.0, (now - alert.ingested_at).total_seconds()))

    return app
