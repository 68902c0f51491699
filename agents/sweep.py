"""The live clock: a Faust timer on every worker runs the time-driven rules.

Tables are partitioned, so each worker sweeps only the children and teams of the
partitions it holds (a leader-only timer would see a fraction of them). It never changes
a table itself: it sends a tick, keyed by child (or team), to a topic co-partitioned with
the state, and the owning agent applies it like an event: one writer per partition, the
state's `emitted` map deduplicating, so two workers (or two ticks) never raise one alert
twice. `now` is the watermark (agents.watermark), never a wall clock the worker has not
caught up with, and while events keep arriving, not past the event time either: a
worker that has caught up with what has been published so far may not have the rest
of the history yet (a feed being loaded), and a deadline it judged now could be settled
by an event still to come. So a child's deadlines are judged at the earlier of the
watermark and its partition's event time (the least, over the partition's input topics,
of the latest event day handled on each) less `lateness_days`; once no new event has
come on the partition for `quiet_seconds`, the feed is quiet, not behind, and the
watermark alone decides. Replay judges the same way (agents.replay).

A tick is sent once per due day: again only after the first has been handled (its
partition read past it) and the state is still due, never while it is still queued. A
run's ticks go to the broker in bulk (agents.produce.send_records): one at a time, through
Faust's send, 4,498 ticks held one run of the clock for 5.9 s.
"""

import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from agents.rules import TEAM_RULE, RulesConfig
from agents.rules.team_rereferral_rate_high import rolling
from agents.state import TeamState
from agents.watermark import Watermark
from casewatch.metrics import Metrics
from streams.topics import Topics

log = logging.getLogger("casewatch.worker")

# (topic, [(key, value)]) -> the offset of the last record on each partition, once the broker has them all.
BulkSend = Callable[[str, Sequence[tuple[bytes, bytes | None]]], Awaitable[dict[int, int]]]


def _dues(table: Any) -> Iterator[tuple[bytes, str]]:
    """(key, next due day) of every state in the table's partitions held here that has one."""
    for key, value in list(table.items()):
        due = value.get("due") if isinstance(value, dict) else None
        if due is not None:
            yield key, due


def encode_tick(now: datetime) -> bytes:
    return json.dumps({"kind": "tick", "now": now.isoformat()}).encode()


def decode_tick(document: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(document["now"])


class Sweep:
    """One worker's clock: watermarks over the partitions it holds, and the ticks it sends."""

    def __init__(
        self,
        app: Any,
        *,
        topics: Topics,
        rules: RulesConfig,
        metrics: Metrics,
        children: Any,
        teams: Any,
        send: BulkSend,
        handled: dict[Hashable, int] | None = None,
    ) -> None:
        self.app, self.topics, self.rules, self.metrics = app, topics, rules, metrics
        self.children, self.teams, self.send = children, teams, send
        self.inputs = Watermark()
        self.team_inputs = Watermark()
        self._held: frozenset[Any] = frozenset()
        # tp -> offset of the next message to handle (shared with the commit guard: agents.commit_guard)
        self._handled: dict[Hashable, int] = {} if handled is None else handled
        self._floor: dict[Hashable, int] = {}  # tp -> earliest offset, for partitions never handled
        # (kind, key) -> (due day asked for, partition, end offset of its tick partition once sent)
        self._asked: dict[tuple[str, bytes], tuple[str, int, int]] = {}
        self._days: dict[Hashable, date] = {}  # input tp -> latest event day handled on it
        self._arrived: dict[int, float] = {}  # partition -> when (monotonic) its topics last grew
        self._last_end: dict[Hashable, int] = {}  # input tp -> its end offset when last looked at
        self._started = time.monotonic()
        self._gauged: set[str] = set()
        # Each child's next due day (the state's "due"), kept as the correlate agent writes
        # states: the clock reads this instead of every state in the table each time it runs
        # (at 140,000 children a read of them all held the event loop for seconds). Built
        # by one read of the table after each rebalance (`_dues_of_children`), when the
        # partitions held and their restored states change under it.
        self._child_dues: dict[bytes, str] = {}
        self._dues_current = False
        self._lagged: set[tuple[str, str]] = set()  # (topic, partition) with a lag gauge

    def handled(self, message: Any) -> None:
        """An agent has finished with this message (called for every message, good or bad)."""
        self._handled[message.tp] = message.offset + 1

    def short_of(self, tp: Hashable, offset: int) -> bool:
        """Whether this worker's correlate agent holds the input partition and has not yet
        handled the message at `offset` (the timeline consumer yields to it: agents.timeline_consumer)."""
        return tp in self.app.assignor.assigned_actives() and self._position(tp) <= offset

    def written(self, key: bytes, state: dict[str, Any] | None) -> None:
        """The correlate agent wrote this child's state (None: erased)."""
        due = state.get("due") if state is not None else None
        if due is None:
            self._child_dues.pop(key, None)
        else:
            self._child_dues[key] = due

    def rebalanced(self) -> None:
        """Partitions moved, or their tables were restored: read the children's dues again."""
        self._dues_current = False

    def _dues_of_children(self) -> Iterable[tuple[bytes, str]]:
        if not self._dues_current:
            self._child_dues = dict(_dues(self.children))
            self._dues_current = True
        return list(self._child_dues.items())  # a copy: the agent writes dues while ticks are sent

    def forget(self, tps: Iterable[Any]) -> None:
        """These partitions were revoked (their offsets committed): what was handled on them
        no longer says where they stand, once another worker may have moved them on."""
        for tp in tps:
            self._handled.pop(tp, None)

    def saw(self, tp: Any, day: date) -> None:
        """An input event of this day has been applied (its partition's event time)."""
        known = self._days.get(tp)
        if known is None or day > known:
            self._days[tp] = day

    def event_day(self, partition: int, watermark: datetime, tps: Iterable[Any]) -> date | None:
        """The day up to which this partition's deadlines may be judged (see the module's doc),
        or None to judge none yet: a worker just started (after a crash, say) does not know
        whether history is still arriving until it sees an event or the quiet period passes."""
        today = watermark.date()
        mine = [tp for tp in tps if tp.partition == partition]
        # Quiet is nothing new on the topics, and all of it handled: a worker held up (its
        # database locked, say) with a backlog is not quiet, however long it waits.
        arrived = self._arrived.get(partition, self._started)
        caught_up = all(self._position(tp) >= self._last_end.get(tp, 0) for tp in mine)
        if caught_up and time.monotonic() - arrived >= self.rules.quiet_seconds:
            return today
        days = [self._days[tp] for tp in mine if tp in self._days]
        if not days:
            return None
        return min(today, min(days) - timedelta(days=self.rules.lateness_days))

    async def run(self) -> None:
        now = datetime.now(UTC)
        held = frozenset(self.app.assignor.assigned_actives())
        if held != self._held:  # a rebalance: what was noted was about other partitions
            self._held = held
            self.inputs.reset()
            self.team_inputs.reset()
            self._asked.clear()
            self.rebalanced()
        inputs = [tp for tp in held if tp.topic in self.topics.inputs]
        team_tps = [tp for tp in held if tp.topic == self.topics.team_facts]
        tick_tps = [tp for tp in held if tp.topic == self.topics.ticks]
        self.metrics.assigned_partitions.set(len(inputs))
        await self._learn_floors([*inputs, *team_tps])
        ends = await self._ends(inputs)
        self._show_lag(ends)
        for tp, end in ends.items():
            if self._last_end.get(tp) != end:
                self._last_end[tp] = end
                self._arrived[tp.partition] = time.monotonic()  # type: ignore[attr-defined]  # a faust TP
        self.inputs.note(now, ends)
        moved = self.inputs.advance(self._position)
        if moved is not None:
            self.metrics.watermark_lag.set((now - moved).total_seconds())
            # Team facts sent for what was handled must be on the broker before they are counted.
            await self.app.producer.flush()
            self.team_inputs.note(moved, await self._ends(team_tps))
            days: dict[int, date | None] = {tp.partition: self.event_day(tp.partition, moved, inputs) for tp in inputs}
            await self._tick("child", self._dues_of_children(), self.topics.ticks, days, tick_tps)
        team_moved = self.team_inputs.advance(self._position)
        if team_moved is not None:
            team_days: dict[int, date | None] = {tp.partition: team_moved.date() for tp in team_tps}
            teams = list(_dues(self.teams))  # a few hundred teams: read whole each time
            await self._tick("team", teams, self.topics.team_facts, team_days, team_tps)
            self._set_gauges(team_moved, team_tps)

    def _show_lag(self, ends: dict[Any, int]) -> None:
        """Consumer lag per input partition held: its end offset less the next one to handle;
        partitions this worker no longer holds lose their series."""
        shown = set()
        for tp, end in ends.items():
            labels = (tp.topic, str(tp.partition))
            self.metrics.consumer_lag.labels(*labels).set(max(0, end - self._position(tp)))
            shown.add(labels)
        for labels in self._lagged - shown:
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(*labels)
        self._lagged = shown

    def _position(self, tp: Hashable) -> int:
        """The next offset to handle: what this worker handled, or what the group committed
        before (a partition with nothing new since its assignment), or the log's start."""
        # Faust keeps the committed offsets per partition (a private attribute, faust-streaming 0.11-0.15).
        committed = getattr(self.app.consumer, "_committed_offset", {}).get(tp)
        return max(self._handled.get(tp, 0), committed or 0, self._floor.get(tp, 0))

    async def _learn_floors(self, tps: list[Any]) -> None:
        unknown = [tp for tp in tps if tp not in self._handled and tp not in self._floor]
        if unknown:
            self._floor.update(await self.app.consumer.earliest_offsets(*unknown))

    async def _ends(self, tps: list[Any]) -> dict[Hashable, int]:
        return dict(await self.app.consumer.highwaters(*tps)) if tps else {}

    async def _tick(
        self,
        kind: str,
        dues: Iterable[tuple[bytes, str]],
        topic: str,
        days: dict[int, date | None],
        tick_tps: list[Any],
    ) -> None:
        """Send a tick to every state in these partitions whose next deadline has come by its
        partition's day, unless the tick sent for that deadline is still queued."""
        queued = {tp.partition: tp for tp in tick_tps}
        asked, ticks, sent = {}, [], []
        for key, due in dues:  # keys are bytes: the child ID, or the team
            partition = self.topics.partition_for(key.decode())
            day = days.get(partition)
            if day is None or due > day.isoformat():
                continue
            before = self._asked.get((kind, key))
            tp = queued.get(partition)
            if before is not None and before[0] == due and (tp is None or self._position(tp) < before[2]):
                asked[(kind, key)] = before  # the tick asked for this is not handled yet
                continue
            now = datetime.combine(day, clock_time(), tzinfo=UTC)
            ticks.append((key, encode_tick(now)))
            sent.append((key, due, partition))
        if sent:
            # Where each partition's ticks end on the broker: a tick is handled when its
            # partition has been read to there.
            last = await self.send(topic, ticks)
            for key, due, partition in sent:
                asked[(kind, key)] = (due, partition, last.get(partition, -1) + 1)
            self.metrics.ticks_sent.labels(kind=kind).inc(len(sent))
            log.info("clock: sent %d %s ticks on %s", len(sent), kind, topic)
        self._asked = {k: v for k, v in self._asked.items() if k[0] != kind} | asked

    def _set_gauges(self, now: datetime, team_tps: Iterable[Any]) -> None:
        """Each team's rolling rates, from the worker that holds it (the others drop theirs)."""
        params = self.rules.of(TEAM_RULE)
        if not params.enabled:
            return
        partitions = {tp.partition for tp in team_tps}
        shown = set()
        for key, value in list(self.teams.items()):
            team = key.decode()
            if self.topics.partition_for(team) not in partitions:
                continue
            figures = rolling(TeamState.from_dict(value), now.date(), params)
            if figures.rereferral_rate is not None:
                self.metrics.team_rereferral_ratio.labels(team=team).set(figures.rereferral_rate)
            if figures.agreement_rate is not None:
                self.metrics.team_agreement_rereferral_ratio.labels(team=team).set(figures.agreement_rate)
            shown.add(team)
        for team in self._gauged - shown:
            for gauge in (self.metrics.team_rereferral_ratio, self.metrics.team_agreement_rereferral_ratio):
                with contextlib.suppress(KeyError):
                    gauge.remove(team)
        self._gauged = shown
        self.metrics.rereferral_ratio_threshold.set(params.threshold)
