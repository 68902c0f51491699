"""The live clock's ticks: sent once per due day, by the partition's event time while events arrive."""

import asyncio
from collections import namedtuple
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from agents.rules import RulesConfig
from agents.sweep import Sweep
from casewatch.metrics import Metrics
from streams.topics import Topics

TP = namedtuple("TP", "topic partition")
TOPICS = Topics(prefix="t", partitions=1)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
INPUT = TP(TOPICS.inputs[0], 0)
OTHER_INPUT = TP(TOPICS.inputs[1], 0)
TICKS = TP(TOPICS.ticks, 0)


class Broker:
    """What the sweep reads of Faust: the partitions held, their ends, and the producer."""

    def __init__(self) -> None:
        self.ends: dict[Any, int] = {INPUT: 0, OTHER_INPUT: 0, TICKS: 0}
        self.assignor = self
        self.consumer = self
        self.producer = self
        self._committed_offset: dict[Any, int] = {}
        self.sent = {TOPICS.ticks: Channel(), TOPICS.team_facts: Channel()}

    def assigned_actives(self) -> set[Any]:
        return set(self.ends)

    async def highwaters(self, *tps: Any) -> dict[Any, int]:
        return {tp: self.ends.get(tp, 0) for tp in tps}

    async def earliest_offsets(self, *tps: Any) -> dict[Any, int]:
        return dict.fromkeys(tps, 0)

    async def flush(self) -> None:
        return None

    async def send(self, topic: str, records: Sequence[tuple[bytes, bytes | None]]) -> dict[int, int]:
        """The sweep's bulk send: the records on the topic (one partition here), their last offset."""
        self.sent[topic].sent.extend(records)
        if topic == TOPICS.ticks:
            self.ends[TICKS] += len(records)
            return {0: self.ends[TICKS] - 1}
        return {0: len(self.sent[topic].sent) - 1}


class Channel:
    """What reached one topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes | None]] = []


def sweep_with(children: dict[bytes, dict[str, Any]], config: RulesConfig) -> tuple[Sweep, Broker, Channel]:
    broker = Broker()
    metrics = Metrics.create(CollectorRegistry())
    sweep = Sweep(broker, topics=TOPICS, rules=config, metrics=metrics, children=children, teams={}, send=broker.send)
    return sweep, broker, broker.sent[TOPICS.ticks]


def run(sweep: Sweep) -> None:
    asyncio.run(sweep.run())


def test_a_tick_is_not_sent_again_while_it_is_queued_and_is_once_it_was_handled_and_still_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = iter(range(0, 100_000, 120))  # two minutes between sweeps: longer than any patience
    monkeypatch.setattr("agents.sweep.time.monotonic", lambda: float(next(clock)))
    sweep, broker, ticks = sweep_with({b"C1": {"due": "2026-02-01"}}, RulesConfig(quiet_seconds=0))
    for _ in range(5):  # the worker is slow: the tick waits on its partition
        run(sweep)
    assert len(ticks.sent) == 1
    # Handled, and the state is still due (say it was forgotten and made again): asked once more.
    sweep.handled(type("Message", (), {"tp": TICKS, "offset": broker.ends[TICKS] - 1})())
    run(sweep)
    run(sweep)
    assert len(ticks.sent) == 2


def test_while_events_arrive_deadlines_wait_for_the_slowest_topics_event_time_less_the_lateness() -> None:
    children = {b"C1": {"due": "2026-01-10"}}
    sweep, _, ticks = sweep_with(children, RulesConfig(lateness_days=3, quiet_seconds=3600))
    sweep.saw(INPUT, date(2026, 1, 20))
    sweep.saw(OTHER_INPUT, date(2026, 1, 12))  # this topic has only reached 12 January
    assert sweep.event_day(0, NOW, [INPUT, OTHER_INPUT]) == date(2026, 1, 9)
    run(sweep)
    assert ticks.sent == []
    sweep.saw(OTHER_INPUT, date(2026, 1, 13))
    run(sweep)
    assert [key for key, _ in ticks.sent] == [b"C1"]
    assert b'"now": "2026-01-10T00:00:00+00:00"' in ticks.sent[0][1]  # judged as of event time, not the wall clock


def test_once_the_feed_is_quiet_the_wall_clock_decides() -> None:
    sweep, _, _ = sweep_with({}, RulesConfig(lateness_days=3, quiet_seconds=0))
    sweep.saw(INPUT, date(2026, 1, 20))
    assert sweep.event_day(0, NOW, [INPUT]) == NOW.date()
    # A worker just started (after a crash) waits for an event or the quiet period: history may be on its way.
    assert sweep_with({}, RulesConfig())[0].event_day(0, NOW, [INPUT]) is None
    assert sweep_with({}, RulesConfig(quiet_seconds=0))[0].event_day(0, NOW, [INPUT]) == NOW.date()


def test_consumer_lag_is_each_held_input_partition_end_less_what_was_handled_and_goes_with_the_partition() -> None:
    sweep, broker, _ = sweep_with({}, RulesConfig())

    def lag(tp: Any) -> float | None:
        samples = [s for family in sweep.metrics.consumer_lag.collect() for s in family.samples]
        found = [s.value for s in samples if s.labels == {"topic": tp.topic, "partition": str(tp.partition)}]
        return found[0] if found else None

    broker.ends[INPUT], broker.ends[OTHER_INPUT] = 10, 4
    sweep.handled(type("Message", (), {"tp": INPUT, "offset": 6})())  # offsets 0-6 handled: 3 to go
    run(sweep)
    assert (lag(INPUT), lag(OTHER_INPUT)) == (3, 4)
    assert lag(TICKS) is None  # the clock's own topic is not an input
    del broker.ends[OTHER_INPUT]  # a rebalance took it
    run(sweep)
    assert (lag(INPUT), lag(OTHER_INPUT)) == (3, None)


def test_the_agent_is_short_of_an_offset_it_has_not_handled_on_a_partition_this_worker_holds() -> None:
    sweep, broker, _ = sweep_with({}, RulesConfig())
    sweep.handled(type("Message", (), {"tp": INPUT, "offset": 6})())  # 0-6 handled
    assert sweep.short_of(INPUT, 7) and not sweep.short_of(INPUT, 6)
    # Asked by another consumer, with a plain (topic, partition): the same partition.
    assert sweep.short_of((INPUT.topic, INPUT.partition), 7)
    del broker.ends[INPUT]  # a rebalance took it: another worker's agent is not waited for here
    assert not sweep.short_of(INPUT, 7)


def test_a_revoked_partition_is_placed_by_its_committed_offset_not_by_what_this_worker_once_handled() -> None:
    sweep, broker, _ = sweep_with({}, RulesConfig())

    def lag() -> float:
        samples = [s for family in sweep.metrics.consumer_lag.collect() for s in family.samples]
        return next(s.value for s in samples if s.labels == {"topic": INPUT.topic, "partition": "0"})

    broker.ends[INPUT] = 10
    sweep.handled(type("Message", (), {"tp": INPUT, "offset": 8})())  # this worker handled 0-8
    run(sweep)
    assert lag() == 1
    # Revoked, moved on elsewhere only to offset 4 (its commit), then given back: 6 to go, not 1.
    sweep.forget([INPUT])
    broker._committed_offset[INPUT] = 4
    run(sweep)
    assert lag() == 6


def test_the_clock_reads_the_table_once_a_rebalance_and_otherwise_follows_the_states_the_agent_writes() -> None:
    children = {b"C1": {"due": "2026-02-01"}}
    sweep, _, ticks = sweep_with(children, RulesConfig(quiet_seconds=0))
    run(sweep)
    assert [key for key, _ in ticks.sent] == [b"C1"]
    children[b"C2"] = {"due": "2026-02-01"}  # restored from the changelog: not written by the agent
    children[b"C3"] = {"due": "2026-02-01"}
    sweep.written(b"C3", children[b"C3"])
    run(sweep)
    assert [key for key, _ in ticks.sent] == [b"C1", b"C3"]  # no read of every state for C2
    sweep.rebalanced()  # the tables restored: read again
    run(sweep)
    assert [key for key, _ in ticks.sent] == [b"C1", b"C3", b"C2"]
    children[b"C4"] = {"due": "2026-02-01"}
    sweep.written(b"C4", {"due": "2026-02-01"})
    sweep.written(b"C4", None)  # erased before the clock came round
    run(sweep)
    assert b"C4" not in [key for key, _ in ticks.sent]
