"""A producer with another partitioner than murmur2: its events are forwarded, not lost."""

import json
import signal

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from casewatch.storage import connect, list_alerts
from streams.codec import FORWARDED_FROM, encode, forwarded_from
from streams.publish import Publisher
from tests.integration.support import Deployment, WorkerProcess, read_topic, running_worker, wait_until
from tests.integration.test_worker_end_to_end import AGREEMENT, REFERRAL


def test_events_published_round_robin_are_forwarded_and_raise_every_alert(deployment: Deployment) -> None:
    settings = deployment.settings
    topics, partitions = settings.topics, settings.partitions
    children = [f"C{3000 + i}" for i in range(6)]
    events = [
        event.model_copy(update={"child_id": child, "event_id": f"{event.event_id}-{child}"})
        for child in children
        for event in (REFERRAL, AGREEMENT)  # the referral first: the rules do not depend on arrival order
    ]
    # Round robin, as some integration tools' producers do: the partition is chosen per send, whatever the key.
    placed = [(event, index % partitions) for index, event in enumerate(events)]
    moved = [(e, p) for e, p in placed if p != topics.partition_for(e.child_id)]
    assert len(moved) >= len(events) // 2  # these children make the test meaningful
    # One more, already forwarded once and on a wrong partition again (the workers would disagree on the count).
    looping = REFERRAL.model_copy(update={"child_id": "C3999", "event_id": "lcs:ref-looping"})
    wrong = (topics.partition_for("C3999") + 1) % partitions
    referrals = topics.for_event_type("referral")
    with running_worker(deployment) as worker:
        with Publisher(str(settings.bootstrap_servers), topics) as publisher:
            for event, partition in placed:
                publisher.raw(topics.for_event_type(event.event_type), key=event.child_id.encode(),
                              value=encode(event), partition=partition)  # fmt: skip
            publisher.raw(referrals, key=b"C3999", value=encode(looping), partition=wrong,
                          headers=[forwarded_from(referrals, 0, 0)])  # fmt: skip
        database = connect(settings.database_url)
        wait_until(lambda: len(list_alerts(engine=database)) >= len(children), 90, worker.describe)
        wait_until(lambda: worker.metric("casewatch_events_dead_lettered_total") >= 1, 30, worker.describe)
        assert worker.metric("casewatch_events_forwarded_total") == len(moved)
        for topic in {topics.for_event_type(e.event_type) for e, _ in moved}:
            expected = sum(1 for e, _ in moved if topics.for_event_type(e.event_type) == topic)
            assert worker.metric("casewatch_events_forwarded_total", topic=topic) == expected
        assert worker.metric("casewatch_events_dead_lettered_total", reason="wrong_partition") == 1
    stored = list_alerts(engine=database)
    assert sorted((a.child_id, a.rule) for a in stored) == [(c, "rereferral_after_agreement") for c in children]

    # Each moved event is on its child's partition too, unchanged, saying where it first was.
    for topic in {topics.for_event_type(e.event_type) for e, _ in moved}:
        records = read_topic(str(settings.bootstrap_servers), topic, partitions)
        # Not the test's own looping record, which names a made-up origin.
        copies = [r for r in records if FORWARDED_FROM in dict(r.headers) and r.key != b"C3999"]
        assert len(copies) == sum(1 for e, _ in moved if topics.for_event_type(e.event_type) == topic)
        originals = {(r.topic, r.partition, r.offset): r for r in records}
        for copy in copies:
            assert copy.partition == topics.partition_for(copy.key.decode())
            name, partition, offset = dict(copy.headers)[FORWARDED_FROM].decode().rsplit(":", 2)
            original = originals[(name, int(partition), int(offset))]
            assert (original.key, original.value) == (copy.key, copy.value)
            assert original.partition != copy.partition
    letters = [json.loads(r.value) for r in read_topic(str(settings.bootstrap_servers), topics.dead_letter, partitions)]
    assert [(d["code"], d["topic"], d["partition"]) for d in letters] == [("wrong_partition", referrals, wrong)]
    assert "forwarded here already" in letters[0]["reason"]


def test_an_event_is_not_committed_until_its_forward_is_acknowledged(deployment: Deployment) -> None:
    settings = deployment.settings
    topics = settings.topics
    referrals = topics.for_event_type("referral")
    home = topics.partition_for("C1001")
    elsewhere = (home + 1) % settings.partitions
    with Publisher(str(settings.bootstrap_servers), topics) as publisher:
        publisher.raw(referrals, key=b"C1001", value=encode(REFERRAL), partition=elsewhere)
    # Now the broker refuses every record on that topic (the one already there stays readable): no forward.
    set_max_message_bytes(deployment, referrals, "100")
    worker = WorkerProcess(deployment).start()
    try:
        wait_until(lambda: worker.metric("casewatch_agent_crashes_total", agent="correlate") >= 1, 60, worker.describe)
        assert worker.metric("casewatch_events_forwarded_total") == 0
        assert worker.process is not None and worker.process.wait(timeout=120) == 3  # the crash loop stops it
    finally:
        worker.stop(signal.SIGKILL)
        set_max_message_bytes(deployment, referrals, "1048588")
    admin = KafkaAdminClient(bootstrap_servers=str(settings.bootstrap_servers))
    try:
        committed = admin.list_group_offsets(settings.app_id)[settings.app_id]
    finally:
        admin.close()
    # The original (offset 0) was never committed: the next worker reads and forwards it again.
    position = committed.get(TopicPartition(referrals, elsewhere))
    assert position is None or position.offset <= 0


def set_max_message_bytes(deployment: Deployment, topic: str, value: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=str(deployment.settings.bootstrap_servers))
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": value})])
    finally:
        admin.close()
