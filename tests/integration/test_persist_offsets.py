"""The store consumers' groups: taking over where the Faust persist agent had committed; their lag."""

import asyncio
from collections.abc import Sequence

from kafka import KafkaAdminClient, TopicPartition
from kafka.structs import OffsetAndMetadata

from agents.persist import PersistConsumer, carry_over_offsets, persist_group
from streams.admin import ensure_topics
from streams.publish import Publisher
from tests.integration.support import Deployment


def test_an_upgraded_worker_carries_the_old_groups_alert_offsets_over_once(deployment: Deployment) -> None:
    settings = deployment.settings
    bootstrap, alerts = str(settings.bootstrap_servers), settings.topics.alerts
    old, new = settings.app_id, persist_group(settings.app_id)
    committed = {TopicPartition(alerts, 0): OffsetAndMetadata(7, "", None),
                 TopicPartition(alerts, 2): OffsetAndMetadata(3, "", None),
                 TopicPartition(settings.topics.ticks, 0): OffsetAndMetadata(5, "", None)}  # fmt: skip
    # A new deployment has nothing to carry over (this also waits for the group coordinator).
    assert carry_over_offsets(bootstrap, alerts, old_group=old, new_group=new) == 0
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.alter_group_offsets(old, committed)
        assert carry_over_offsets(bootstrap, alerts, old_group=old, new_group=new) == 2
        carried = admin.list_group_offsets([new])[new]
        assert {tp: at.offset for tp, at in carried.items()} == {
            TopicPartition(alerts, 0): 7, TopicPartition(alerts, 2): 3,
        }  # fmt: skip  # the alerts topic only: the other topics are not the persist task's
        # Once the new group has offsets of its own, the old group's are never taken again.
        admin.alter_group_offsets(old, {TopicPartition(alerts, 0): OffsetAndMetadata(99, "", None)})
        assert carry_over_offsets(bootstrap, alerts, old_group=old, new_group=new) == 0
        assert admin.list_group_offsets([new])[new][TopicPartition(alerts, 0)].offset == 7
    finally:
        admin.close()


def test_a_store_consumer_reports_how_many_records_it_has_not_stored_yet(deployment: Deployment) -> None:
    settings = deployment.settings
    bootstrap, alerts = str(settings.bootstrap_servers), settings.topics.alerts
    ensure_topics(bootstrap, settings.topics)
    with Publisher(bootstrap, settings.topics) as publisher:
        for i in range(30):
            publisher.raw(alerts, key=f"C{i}".encode(), value=b"{}")
    lags: list[int] = []
    stored: list[object] = []

    async def handle(records: Sequence[object]) -> None:
        await asyncio.sleep(0.05)  # a database's time
        stored.extend(records)

    def crashed(error: BaseException) -> None:
        raise AssertionError(f"the consumer crashed: {error!r}")

    consumer = PersistConsumer(
        bootstrap_servers=bootstrap, topics=[alerts], group_id=f"{settings.app_id}-lag", handle=handle,
        crashed=crashed, batch=10, lag=lags.append,
    )  # fmt: skip

    async def run() -> None:
        task = asyncio.create_task(consumer.run())
        try:
            async with asyncio.timeout(60):
                while len(stored) < 30 or not lags or lags[-1] != 0:
                    await asyncio.sleep(0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run())
    assert len(stored) == 30
    most = max(lags)
    assert most >= 20  # the backlog, seen before most of it was stored (batches of 10)
    after = lags[lags.index(most) :]
    assert after == sorted(after, reverse=True) and after[-1] == 0  # down to nothing as batches are stored
