"""The live side: a Faust app whose agents apply the rules to the topics.

The agents are thin: decode, call the engine (`apply_batch`), send. One error policy,
per message: every message either moves a child's state or goes to the dead-letter topic
with its reason (`reject`), and an error the rules raise on one message dead-letters that
message only. A batch that cannot be finished (its alerts not acknowledged, say) is an
agent crash (agents.supervisor): counted, the worker unready, the batch tried again and
nothing of it committed meanwhile. The clock (agents.sweep) reaches the states through
the same agents, as ticks on internal topics.
"""

import asyncio
import dataclasses
import functools
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT
from sqlalchemy import Engine

from agents import storing, table_store
from agents.commit_guard import guard
from agents.engine import ClockTick, Step, apply_batch, apply_team_fact, tick_team
from agents.persist import GroupMember
from agents.produce import send_records, write_table
from agents.rejecting import rejecter
from agents.rules import RulesConfig
from agents.state import ChildState, TeamFact, TeamState
from agents.state_cache import StateCache
from agents.supervisor import Supervisor
from agents.sweep import Sweep, decode_tick
from casewatch.metrics import Metrics
from casewatch.storage import StoredHook
from schemas.alerts import Alert
from schemas.events import EVENT_TYPE_NAMES
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.codec import (
    Forward,
    Rejection,
    decode_message,
    encode,
    forwarded_headers,
)
from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.topics import CHILD_STATE_TABLE, TEAM_STATE_TABLE, Topics

log = logging.getLogger("casewatch.worker")

# Batches amortise per-message work; `within` bounds the latency they add when traffic is light.
CORRELATE_BATCH = 1000
CORRELATE_WITHIN_SECONDS = 0.01
# Team facts need no haste (a team month is judged days after it ends), and each batch
# writes every team it touched to the changelog: long batches keep those writes few.
TEAMS_BATCH = 10_000
TEAMS_WITHIN_SECONDS = 1.0
AGENTS = ("correlate", "teams")  # the names their crashes are counted under (and storing.AGENTS)
# The control message, on the ticks topic keyed by child, that makes a running worker drop
# a child's state (`casewatch erase`; the state's changelog gets its tombstone from the delete).
ERASE_KIND = "erase"


# Restarts (docs/reliability.md). A dead worker's partitions wait for its session to time
# out before anyone takes them over: Faust's default is 60 s. Heartbeats every second let a
# 10 s session survive a slow moment on a busy machine.
SESSION_TIMEOUT_SECONDS = 10.0
HEARTBEAT_SECONDS = 1.0


def create_app(
    *,
    app_id: str,
    bootstrap_servers: str,
    topics: Topics,
    rules: RulesConfig,
    engine: Engine | None,
    metrics: Metrics,
    state_dir: str,
    on_stored: StoredHook | None = None,
    instance_id: str | None = None,
    policy: InputPolicy = DEFAULT_POLICY,
    supervisor: Supervisor | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> faust.App:
    """The worker's Faust app: the correlate and teams agents, their tables, the clock, and the store consumers.

    The store consumers (agents.storing) write alerts and timelines into `engine`; with no
    `engine` they are left out, for a store process of their own (a worker of role `correlate`).
    `on_stored` runs in each batch's database transaction (the delivery outbox). With
    `instance_id` the worker is a static member of its consumer group: restarted after a
    crash, it takes its partitions back at once instead of after the session timeout.
    `policy` is what every input message must also pass (future dates, child ID pattern, teams).
    `supervisor` (one is made if not given) is where the worker's readiness is read.
    """
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap_servers}",
        broker_credentials=security.faust_credentials(),
        # Tables live in RocksDB under `state_dir`, with the offsets of the changelog they
        # hold: a restart reads only the changelog written since, not the whole history.
        # A new or wiped state_dir is rebuilt from the changelog, which stays the backup.
        store=f"{table_store.SCHEME}://",
        datadir=state_dir,
        topic_partitions=topics.partitions,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=True,
        producer_acks=-1,
        # Without linger every changelog write and alert is its own produce request: the
        # profile showed a fifth of the worker's time in socket writes. 5 ms batches them.
        producer_linger_ms=5,
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        broker_heartbeat_interval=HEARTBEAT_SECONDS,
        consumer_group_instance_id=instance_id,
    )
    # tp -> the offset after the last message an agent finished with: the clock's positions,
    # and as far as a commit may go (agents.commit_guard), so set before any topic is made.
    handled: dict[Any, int] = {}
    guard(app, handled.get)
    # Bytes in and out: decoding is ours, so a bad message is dead-lettered, not a crash.
    inputs = app.topic(*topics.inputs, topics.ticks, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(topics.dead_letter, key_serializer="raw", value_serializer="raw")
    # Each input topic alone, to forward an event to its child's partition of the same topic.
    input_topics = {name: app.topic(name, key_serializer="raw", value_serializer="raw") for name in topics.inputs}
    # The state of a child is written to the changelog partition its key hashes to, which
    # is the partition its events are applied on (decode_message forwards any other): batches mix
    # partitions, so the table cannot take the partition from the current event.
    states = app.Table(
        CHILD_STATE_TABLE, default=dict, partitions=topics.partitions, key_type=bytes, use_partitioner=True
    )
    # Keyed by team, fed by the team-facts topic (keyed by team too), written the same way.
    team_states = app.Table(
        TEAM_STATE_TABLE, default=dict, partitions=topics.partitions, key_type=bytes, use_partitioner=True
    )
    team_facts = app.topic(topics.team_facts, key_serializer="raw", value_serializer="raw")
    written_last = StateCache()  # the children's states as last written, decoded (agents.state_cache)
    sweep = Sweep(app, topics=topics, rules=rules, metrics=metrics, children=states, teams=team_states,
                  send=functools.partial(send_records, app), handled=handled)  # fmt: skip
    supervisor = supervisor or Supervisor(metrics)
    agents = AGENTS + (storing.AGENTS if engine is not None else ())
    metrics.start_at_zero(
        event_types=EVENT_TYPE_NAMES, topics=topics.inputs, rules=sorted(rules.enabled), agents=agents
    )

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types its handlers too narrowly
    def assigned(_app: Any, *args: Any, signal: Any = None, **_: Any) -> None:  # args: the partitions assigned
        written_last.invalidate()
        supervisor.assigned(sum(1 for tp in args[0] if tp.topic in topics.inputs))

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    def revoked(_app: Any, *args: Any, signal: Any = None, **_: Any) -> None:  # after Faust's commit
        written_last.invalidate()
        sweep.forget(args[0])
        sweep.rebalanced()

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    def recovered(_app: Any, *args: Any, signal: Any = None, **_: Any) -> None:  # the tables restored
        written_last.invalidate()
        sweep.rebalanced()

    @app.task  # type: ignore[untyped-decorator]  # tasks start once the tables are recovered
    async def ready() -> None:
        supervisor.start()

    async def send_dead_letter(key: bytes | None, value: bytes) -> None:
        await (await dead_letters.send(key=key, value=value))

    reject = rejecter(send_dead_letter, metrics)

    async def send_alerts(raised: list[tuple[bytes, Alert]]) -> None:
        """The alerts on the broker, in bulk (agents.produce), then counted."""
        await send_records(app, topics.alerts, [(key, encode(alert)) for key, alert in raised])
        for (rule, severity), count in Counter((a.rule, a.severity) for _, a in raised).items():
            metrics.alerts_raised.labels(rule=rule, severity=severity).inc(count)

    def erased(message: Any) -> bytes | None:
        """The child key of an erase message on the ticks topic (None for anything else)."""
        if message.topic != topics.ticks or message.key is None:
            return None
        try:
            return message.key if json.loads(message.value).get("kind") == ERASE_KIND else None
        except (TypeError, ValueError, AttributeError):
            return None

    async def forward(message: Any, partition: int) -> Awaitable[Any]:
        """The message, unchanged (key, value, timestamp), on its child's partition of its topic,
        with a header saying where it came from; the batch waits for the broker's acknowledgement."""
        return await input_topics[message.topic].send(
            key=message.key, value=message.value, partition=partition, timestamp=message.timestamp,
            headers=forwarded_headers(message.headers, topic=message.topic, partition=message.partition,
                                      offset=message.offset),
        )  # fmt: skip

    def read_step(message: Any) -> Step | Forward | Rejection:
        """A message of the correlate agent's topics as a step of the engine, an event to forward, or why not."""
        if message.topic == topics.ticks:  # the clock: run the time-driven rules for this child
            try:
                return ClockTick(message.key.decode(), decode_tick(json.loads(message.value)))
            except (AttributeError, TypeError, KeyError, ValueError):
                return Rejection("invalid_tick", "a tick without a child key or a time")
        return decode_message(
            message.value,
            key=message.key,
            topic=message.topic,
            partition=message.partition,
            topics=topics,
            policy=policy,
            headers=message.headers,
        )

    def load_child(child_id: str) -> ChildState:
        """The child's state as stored: as last written here if still held, else read back."""
        key = child_id.encode()
        kept = written_last.take(key)
        return kept if kept is not None else ChildState.from_dict(table_store.read(states, key))

    async def correlate_batch(batch: Sequence[EventT[bytes]]) -> None:
        """Apply a batch; each child's state is read and written once per batch, not per event.

        Every message ends applied, stale, forwarded or dead-lettered; the batch returns only
        once its alerts, team facts and forwarded events are on the broker (else it raises,
        and is tried again whole, the tables untouched).
        """
        generation = written_last.generation  # a rebalance during the batch: it keeps nothing decoded
        steps: list[Step] = []
        origin: list[Any] = []  # the message of each step
        forwarded: list[tuple[str, Awaitable[Any]]] = []  # (topic, acknowledgement)
        erasing = False  # an erase in this batch: Faust's tombstone goes to the broker before the states
        for item in batch:
            key = erased(item.message)
            if key is not None:  # `casewatch erase`: forget the child here too, and its steps so far
                kept = [(s, m) for s, m in zip(steps, origin, strict=True) if s.child_id != key.decode()]
                steps, origin = [s for s, _ in kept], [m for _, m in kept]
                if key in states:
                    del states[key]  # also a tombstone on the changelog (rare: Faust's own send)
                written_last.drop(key)
                sweep.written(key, None)
                erasing = True  # even if gone: a first try of this batch may have sent the tombstone
                metrics.children_erased.inc()
                continue
            step = read_step(item.message)
            if isinstance(step, Rejection):
                await reject(item.message, step)
                continue
            if isinstance(step, Forward):  # applied where it arrives, by whichever worker holds that partition
                forwarded.append((item.message.topic, await forward(item.message, step.partition)))
                continue
            steps.append(step)
            origin.append(item.message)
        arrivals = [None if isinstance(s, ClockTick) else datetime.fromtimestamp(m.timestamp, UTC)
                    for s, m in zip(steps, origin, strict=True)]  # fmt: skip
        result = apply_batch(steps, load_child, rules, received_at=arrivals)
        newest: dict[str, float] = {}  # input topic -> Kafka timestamp of its newest event here
        consumed = Counter[str]()  # event type -> events; each metric moved once a batch, not once an event
        for step, message in zip(steps, origin, strict=True):
            if not isinstance(step, ClockTick):
                consumed[step.event_type] += 1
                newest[message.topic] = max(newest.get(message.topic, 0.0), message.timestamp)
        for event_type, count in consumed.items():
            metrics.events_consumed.labels(event_type=event_type).inc(count)
        for topic, timestamp in newest.items():
            metrics.last_event_timestamp.labels(topic=topic).set(timestamp)
        stale = Counter(steps[index].event_type for index in result.stale)  # type: ignore[union-attr]
        for event_type, count in stale.items():
            metrics.events_stale.labels(event_type=event_type).inc(count)
        for index, reason in result.failed.items():
            log.error(
                "the rules failed on %s[%s]@%s", origin[index].topic, origin[index].partition, origin[index].offset
            )
            await reject(origin[index], Rejection("internal_error", reason))
        raised = [(steps[i].child_id.encode(), _ingested(a, origin[i], steps[i])) for i, a in result.alerts]
        # Stamped with their message, so a team counts a change once however often it is handled.
        stamped, per_step = [], Counter[int]()
        for i, fact in result.team_facts:  # numbered within their message, whatever the batch
            message = origin[i]
            stamped.append(dataclasses.replace(fact, source=f"{message.topic}:{message.partition}",
                                               offset=message.offset, index=per_step[i]))  # fmt: skip
            per_step[i] += 1
        await asyncio.gather(
            send_alerts(raised),
            send_records(app, topics.team_facts, [(fact.team.encode(), fact.encode()) for fact in stamped]),
            *(sending for _, sending in forwarded),
        )
        for topic, count in Counter(topic for topic, _ in forwarded).items():  # counted once the broker has them
            metrics.events_forwarded.labels(topic=topic).inc(count)
        if erasing:  # Faust's tombstone before any later state of the child, in the changelog's order
            await app.producer.flush()
        # Only now the states: a state records the alerts it emitted, so written first, a crash
        # before the alerts were on the broker would lose them for good (the retry would find
        # them emitted). Written after, a crash at worst sends an alert again, under its id.
        # In bulk, acknowledged before the batch returns (and its offsets are committed).
        changed = {child_id.encode(): state for child_id, state in result.states.items()}
        written = {key: state.to_dict() for key, state in changed.items()}
        await write_table(states, written)
        written_last.keep(changed, generation)
        for key, value in written.items():
            sweep.written(key, value)
        for index, step in enumerate(steps):  # the partitions' event time, for the clock
            if not isinstance(step, ClockTick):
                sweep.saw(origin[index].tp, step.day)
        for item in batch:
            sweep.handled(item.message)

    @app.agent(inputs, name="correlate")
    async def correlate(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # take_events is on the class, not the protocol
        # Offsets are committed only after a batch is applied (Faust acks a batch when the
        # loop moves on): a crash replays it, which the engine's idempotence makes harmless.
        async for batch in stream.take_events(CORRELATE_BATCH, within=CORRELATE_WITHIN_SECONDS):
            await supervisor.until_done("correlate", functools.partial(correlate_batch, batch))

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
                state = touched.get(key) or TeamState.from_dict(table_store.read(team_states, key))
                document = json.loads(value)
                if document.get("kind") == "tick":
                    raised += [(key, a) for a in tick_team(state, key.decode(), decode_tick(document), rules)]
                else:
                    apply_team_fact(state, TeamFact.decode(document), rules)
                touched[key] = state
            except Exception as error:  # internal messages, but the same rule: carry on
                log.exception("error on %s[%s]@%s", message.topic, message.partition, message.offset)
                await reject(message, Rejection("internal_error", f"{type(error).__name__} on a team fact"))
        await send_alerts(raised)
        # After the alerts are on the broker, as for children; in bulk, acknowledged.
        await write_table(team_states, {key: state.to_dict() for key, state in touched.items()})
        for item in batch:
            sweep.handled(item.message)

    @app.agent(team_facts, name="teams")
    async def teams(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        async for batch in stream.take_events(TEAMS_BATCH, within=TEAMS_WITHIN_SECONDS):
            await supervisor.until_done("teams", functools.partial(teams_batch, batch))

    @app.timer(interval=rules.timer_seconds)  # type: ignore[untyped-decorator]  # on every worker
    async def clock() -> None:
        try:
            await sweep.run()
        except Exception:  # the clock tries again next time; the agents are unaffected
            log.exception("the clock could not run")

    if engine is not None:  # role all: the store consumers in this process too
        stores = storing.store_consumers(
            app_id=app_id, bootstrap_servers=bootstrap_servers, topics=topics, policy=policy, engine=engine,
            on_stored=on_stored, reject=reject, supervisor=supervisor, metrics=metrics,
            correlate_short_of=sweep.short_of,
            member=GroupMember(instance_id=instance_id, session_timeout_seconds=SESSION_TIMEOUT_SECONDS,
                               heartbeat_seconds=HEARTBEAT_SECONDS, security=security),
        )  # fmt: skip

        @app.task  # type: ignore[untyped-decorator]  # alerts into the database, and each child's timeline
        async def store() -> None:
            await asyncio.gather(*(consumer.run() for consumer in stores))

    return app


def _ingested(alert: Alert, message: Any, step: Step) -> Alert:
    """The alert with the time its triggering event reached Kafka (for the latency metric)."""
    if isinstance(step, ClockTick):
        return alert
    return alert.model_copy(update={"ingested_at": datetime.fromtimestamp(message.timestamp, UTC)})
