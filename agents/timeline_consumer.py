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
"""

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from agents.persist import PersistConsumer, until_stored
from agents.supervisor import Supervisor
from agents.timeline import TimelineRow, timeline_rows
from casewatch.metrics import Metrics
from streams.admission import InputPolicy
from streams.kafka_security import KafkaSecurity
from streams.topics import Topics

log = logging.getLogger("casewatch.worker")

AGENT = "timeline"  # the name its crashes are counted under
# Rows are small and one insert takes thousands: large batches keep the transactions few.
TIMELINE_BATCH = 2000


def timeline_group(app_id: str) -> str:
    return f"{app_id}-{AGENT}"


def timeline_consumer(
    *,
    app_id: str,
    bootstrap_servers: str,
    topics: Topics,
    policy: InputPolicy,
    store: Callable[[Sequence[TimelineRow]], int],
    supervisor: Supervisor,
    metrics: Metrics,
    instance_id: str | None,
    session_timeout_seconds: float,
    heartbeat_seconds: float,
    security: KafkaSecurity,
) -> PersistConsumer:
    """The consumer; `store` writes a batch of rows (casewatch.timeline.store_timeline)."""

    def failed(error: BaseException, pause: float) -> None:
        metrics.store_failures.inc()
        log.error("storing timeline events failed (%s); retrying in %.1fs", type(error).__name__, pause)

    async def batch(records: Sequence[Any]) -> None:
        def decode_and_store() -> int:
            return store(timeline_rows(records, topics=topics, policy=policy))

        await until_stored(decode_and_store, retried=(SQLAlchemyError,), failed=failed)

    return PersistConsumer(
        bootstrap_servers=bootstrap_servers,
        topics=topics.inputs,
        group_id=timeline_group(app_id),
        handle=lambda records: supervisor.until_done(AGENT, functools.partial(batch, records)),
        crashed=functools.partial(supervisor.crashed, AGENT),
        instance_id=f"{instance_id}-{AGENT}" if instance_id else None,
        session_timeout_seconds=session_timeout_seconds,
        heartbeat_seconds=heartbeat_seconds,
        security=security,
        batch=TIMELINE_BATCH,
    )
