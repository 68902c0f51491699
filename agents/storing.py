"""The storing side of a worker: alerts and each child's timeline from their topics into the database.

Two consumers with consumer groups of their own (agents.persist, agents.timeline_consumer),
which read what the correlate agent has written (alerts) or reads (the input topics) at
their own pace. A worker of role `all` runs them beside its Faust agents; a worker of role
`store` runs only them, in a process of its own (`run_store`), and a worker of role
`correlate` runs only the agents. Split so, the storing no longer shares the correlate
agent's interpreter lock and takes a second core (docs/benchmarks.md, "Storing in a process
of its own"); the database is written by the store process only.
"""

import asyncio
import logging
import signal
from collections.abc import Callable, Hashable

from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine

from agents import persist, timeline_consumer
from agents.persist import GroupMember, PersistConsumer, alert_consumer
from agents.rejecting import Reject, rejecter
from agents.supervisor import Supervisor
from casewatch.metrics import Metrics
from casewatch.storage import StoredHook, upsert_alerts
from casewatch.timeline import store_timeline
from schemas.alerts import Alert
from streams.admission import InputPolicy
from streams.topics import Topics

log = logging.getLogger("casewatch.worker")

AGENTS = (persist.AGENT, timeline_consumer.AGENT)  # the names their crashes are counted under


def never_short(_tp: Hashable, _offset: int) -> bool:
    """No correlate agent in this process: the timeline has nothing to give way to."""
    return False


def store_consumers(
    *,
    app_id: str,
    bootstrap_servers: str,
    topics: Topics,
    policy: InputPolicy,
    engine: Engine,
    on_stored: StoredHook | None,
    reject: Reject,
    supervisor: Supervisor,
    metrics: Metrics,
    correlate_short_of: Callable[[Hashable, int], bool] = never_short,
    member: GroupMember,
) -> list[PersistConsumer]:
    """The alerts' consumer and the timeline's, storing into `engine` (`on_stored` in each alert
    batch's transaction: the delivery outbox)."""

    def store_alerts(alerts: list[Alert]) -> None:
        upsert_alerts(engine=engine, alerts=alerts, on_stored=on_stored)

    return [
        alert_consumer(
            app_id=app_id, bootstrap_servers=bootstrap_servers, alerts_topic=topics.alerts, store=store_alerts,
            reject=reject, supervisor=supervisor, metrics=metrics, member=member,
        ),
        timeline_consumer.timeline_consumer(
            app_id=app_id, bootstrap_servers=bootstrap_servers, topics=topics, policy=policy,
            store=lambda rows: store_timeline(engine=engine, rows=rows), correlate_short_of=correlate_short_of,
            supervisor=supervisor, metrics=metrics, member=member,
        ),
    ]  # fmt: skip


async def run_store(
    *,
    app_id: str,
    bootstrap_servers: str,
    topics: Topics,
    policy: InputPolicy,
    engine: Engine,
    on_stored: StoredHook | None,
    supervisor: Supervisor,
    metrics: Metrics,
    member: GroupMember,
) -> None:
    """The store process: both consumers until SIGTERM or SIGINT, then a clean stop (a batch
    being stored is not committed, so the next start stores it again, under the same ids)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", client_id=f"{app_id}-store",
                                **member.security.client_options())  # fmt: skip
    await producer.start()
    try:

        async def send(key: bytes | None, value: bytes) -> None:
            await producer.send_and_wait(topics.dead_letter, value, key=key)

        consumers = store_consumers(
            app_id=app_id, bootstrap_servers=bootstrap_servers, topics=topics, policy=policy, engine=engine,
            on_stored=on_stored, reject=rejecter(send, metrics), supervisor=supervisor, metrics=metrics,
            member=member,
        )  # fmt: skip
        tasks = [asyncio.create_task(consumer.run(), name=consumer.group_id) for consumer in consumers]
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        supervisor.start()
        inputs = ", ".join(topics.inputs)
        log.warning("casewatch store: Ready (alerts from %s, timelines from %s)", topics.alerts, inputs)
        await stopping.wait()
        log.warning("casewatch store: stopping")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await producer.stop()
