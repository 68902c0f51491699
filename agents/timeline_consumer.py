"""The timeline consumer: every input event's timeline row into the database, off the correlate path.

A consumer (and a consumer group, `<app id>-timeline`) of its own, like the persist
agent's (agents/persist.py): it reads the input topics at its own pace, so the correlate
agent never waits on the database for it, and commits a batch only once its rows are
stored (a crash stores them again: the rows are keyed by child and event id, so nothing
is stored twice). Decoding and storing run off the event loop. A database that is down
is waited for (counted in `casewatch_store_failures_total`); any other failure of a
batch is an agent crash (agents.supervisor), the batch tried again.

A new group starts from the earliest offsets: the first worker of a version with the
timeline stores the events still on the topics (their retention, 400 days).

The alerts come first: while this worker's correlate agent has a backlog on a partition,
the timeline runs at most `CORRELATE_LEAD` messages ahead of it there, and waits for it
(up to `YIELD_SECONDS` a batch, so a stalled agent never stops the timeline). Both decode
every event and share one interpreter lock: racing ahead through a backlog, the timeline
once took 39% of a worker's samples, storing five rows for each event the agent had
applied (a million events, docs/benchmarks.md). Behind the agent, or on partitions
another worker's agent holds, it runs free; it stores the backlog once the agent is through.
"""

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from agents.persist import GroupMember, PersistConsumer, until_stored
from agents.supervisor import Supervisor
from agents.timeline import TimelineRow, timeline_rows
from casewatch.metrics import Metrics
from streams.admission import InputPolicy
from streams.topics import Topics

log = logging.getLogger("casewatch.worker")

AGENT = "timeline"  # the name its crashes are counted under
# Rows are small and one insert takes thousands: large batches keep the transactions few.
TIMELINE_BATCH = 2000
CORRELATE_LEAD = 1000  # messages per partition the timeline may run ahead of a correlate backlog
YIELD_SECONDS = 10.0  # the longest a batch waits for the correlate agent
YIELD_POLL_SECONDS = 0.2


async def yield_to_correlate(
    records: Sequence[Any],
    short_of: Callable[[Hashable, int], bool],
    *,
    lead: int = CORRELATE_LEAD,
    longest: float = YIELD_SECONDS,
) -> float:
    """Wait while the correlate agent has not reached `lead` messages before the batch's
    last record on any of its partitions (`short_of(tp, offset)`: agents.sweep.Sweep), for
    at most `longest` seconds; how long it waited."""
    last: dict[Hashable, int] = {}
    for record in records:
        tp = (record.topic, record.partition)
        last[tp] = max(last.get(tp, -1), record.offset)
    started = time.monotonic()
    while any(short_of(tp, offset - lead) for tp, offset in last.items()):
        waited = time.monotonic() - started
        if waited >= longest:
            return waited
        await asyncio.sleep(min(YIELD_POLL_SECONDS, longest - waited))
    return time.monotonic() - started


def timeline_group(app_id: str) -> str:
    return f"{app_id}-{AGENT}"


def timeline_consumer(
    *,
    app_id: str,
    bootstrap_servers: str,
    topics: Topics,
    policy: InputPolicy,
    store: Callable[[Sequence[TimelineRow]], int],
    correlate_short_of: Callable[[Hashable, int], bool],
    supervisor: Supervisor,
    metrics: Metrics,
    member: GroupMember,
) -> PersistConsumer:
    """The consumer; `store` writes a batch of rows (casewatch.timeline.store_timeline),
    `correlate_short_of` says where the correlate agent stands (`yield_to_correlate`)."""

    def failed(error: BaseException, pause: float) -> None:
        metrics.store_failures.inc()
        log.error("storing timeline events failed (%s); retrying in %.1fs", type(error).__name__, pause)

    async def batch(records: Sequence[Any]) -> None:
        await yield_to_correlate(records, correlate_short_of)

        def decode_and_store() -> int:
            return store(timeline_rows(records, topics=topics, policy=policy))

        await until_stored(decode_and_store, retried=(SQLAlchemyError,), failed=failed)

    lag = metrics.store_lag.labels(consumer=AGENT)
    lag.set(0)
    return PersistConsumer(
        bootstrap_servers=bootstrap_servers,
        topics=topics.inputs,
        group_id=timeline_group(app_id),
        handle=lambda records: supervisor.until_done(AGENT, functools.partial(batch, records)),
        crashed=functools.partial(supervisor.crashed, AGENT),
        member=member.of(AGENT),
        batch=TIMELINE_BATCH,
        lag=lag.set,
    )
