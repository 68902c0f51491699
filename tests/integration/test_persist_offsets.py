"""The persist task's consumer group takes over where the Faust persist agent had committed."""

from kafka import KafkaAdminClient, TopicPartition
from kafka.structs import OffsetAndMetadata

from agents.persist import carry_over_offsets, persist_group
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
