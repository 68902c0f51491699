"""The whole path on real parts: Kafka broker, `casewatch worker` process, SQLite database."""

import hashlib
import json
import signal
from datetime import UTC, datetime

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from agents.timeline_consumer import timeline_group
from casewatch.storage import connect, list_alerts
from casewatch.timeline import child_timeline
from schemas.alerts import Alert
from schemas.events import Referral, WrittenAgreement
from streams.publish import Publisher
from tests.integration.support import Deployment, WorkerProcess, caught_up, read_topic, running_worker, wait_until

T = lambda day: datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)  # noqa: E731

AGREEMENT = WrittenAgreement(
    event_id="lcs:wa-1:made", child_id="C1001", occurred_at=T("2024-01-10"), recorded_at=T("2024-01-11"),
    team="CIN East", source="lcs", agreement_id="wa-1", action="made", accompanies_closure=True,
)  # fmt: skip
REFERRAL = Referral(
    event_id="lcs:ref-2", child_id="C1001", occurred_at=T("2024-05-02"), recorded_at=T("2024-05-02"),
    team="Front Door", source="lcs", referral_source="2A",
)  # fmt: skip


def publish(deployment: Deployment, *events: object) -> None:
    with Publisher(str(deployment.settings.bootstrap_servers), deployment.settings.topics) as publisher:
        for event in events:
            publisher.event(event)  # type: ignore[arg-type]


def test_agreement_then_rereferral_raises_exactly_one_alert_even_when_redelivered(deployment: Deployment) -> None:
    settings = deployment.settings
    with running_worker(deployment) as worker:
        publish(deployment, AGREEMENT, REFERRAL)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)

        publish(deployment, AGREEMENT, REFERRAL)  # redelivery of both events
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 4, 60, worker.describe)
        assert worker.metric("casewatch_alerts_raised_total", rule="rereferral_after_agreement") == 1
        # The timeline consumer, at its own pace, has stored each event once, redelivered or not.
        group = timeline_group(settings.app_id)
        wait_until(lambda: caught_up(settings, group, settings.topics.inputs), 60, worker.describe)

    on_topic = [
        Alert.model_validate_json(r.value)
        for r in read_topic(str(settings.bootstrap_servers), settings.topics.alerts, settings.partitions)
    ]
    assert len(on_topic) == 1
    alert = on_topic[0]
    assert alert.child_id == "C1001"
    assert alert.facts["agreement_id"] == "wa-1"
    assert alert.facts["days_between"] == 113
    assert alert.event_ids == ["lcs:wa-1:made", "lcs:ref-2"]
    stored = list_alerts(engine=connect(settings.database_url))
    assert [a.alert_id for a in stored] == [alert.alert_id]
    timeline = child_timeline(connect(settings.database_url), child_id="C1001")
    assert [(e.event_id, e.event_type, e.action, e.item_id, e.team, e.codes) for e in timeline] == [
        ("lcs:ref-2", "referral", None, None, "Front Door", {"referral_source": "2A"}),
        ("lcs:wa-1:made", "agreement", "made", "wa-1", "CIN East", {"accompanies_closure": True}),
    ]


def test_agreement_arriving_after_the_referral_still_matches(deployment: Deployment) -> None:
    with running_worker(deployment) as worker:
        publish(deployment, REFERRAL)
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 1, 60, worker.describe)
        publish(deployment, AGREEMENT)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)
    stored = list_alerts(engine=connect(deployment.settings.database_url))
    assert [(a.rule, a.facts["referral_date"]) for a in stored] == [("rereferral_after_agreement", "2024-05-02")]


def test_bad_messages_are_dead_lettered_with_reasons_and_the_worker_carries_on(deployment: Deployment) -> None:
    settings = deployment.settings
    topics = settings.topics
    impossible = REFERRAL.model_dump(mode="json") | {"event_id": "x-1", "occurred_at": "2024-06-01T00:00:00Z",
                                                     "recorded_at": "2024-05-01T00:00:00Z"}  # fmt: skip
    bad = [
        (topics.for_event_type("referral"), b"C1001", b"{not json"),
        (topics.for_event_type("referral"), b"C1001", json.dumps({"event_type": "phone_call"}).encode()),
        (topics.for_event_type("referral"), b"C1001", json.dumps(impossible).encode()),
        (topics.for_event_type("agreement"), b"C1001", REFERRAL.model_dump_json().encode()),
        (topics.for_event_type("referral"), b"C9999", REFERRAL.model_dump_json().encode()),
        (topics.for_event_type("referral"), None, REFERRAL.model_dump_json().encode()),
    ]
    with running_worker(deployment) as worker:
        with Publisher(str(settings.bootstrap_servers), topics) as publisher:
            for topic, key, value in bad:
                publisher.raw(topic, key=key, value=value)
        publish(deployment, AGREEMENT, REFERRAL)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)
        wait_until(lambda: worker.metric("casewatch_events_dead_lettered_total") >= len(bad), 30, worker.describe)
        group = timeline_group(settings.app_id)
        wait_until(lambda: caught_up(settings, group, topics.inputs), 60, worker.describe)
        assert worker.alive()
        assert worker.metric("casewatch_agent_crashes_total", agent="timeline") == 0
    # What the correlate agent dead-lettered is no one's timeline; the good events are.
    engine = connect(settings.database_url)
    assert [e.event_id for e in child_timeline(engine, child_id="C1001")] == ["lcs:ref-2", "lcs:wa-1:made"]
    assert child_timeline(engine, child_id="C9999") == []

    letters = [
        json.loads(r.value)
        for r in read_topic(str(settings.bootstrap_servers), topics.dead_letter, settings.partitions)
    ]
    assert sorted(letter["code"] for letter in letters) == sorted(
        ["invalid_json", "unknown_event_type", "schema", "wrong_topic", "key_mismatch", "missing_key"]
    )
    by_code = {letter["code"]: letter for letter in letters}
    assert "occurred_at is after recorded_at" in by_code["schema"]["reason"]
    # A digest and size of the original, never its bytes (they may hold personal data).
    assert by_code["invalid_json"]["original_sha256"] == hashlib.sha256(b"{not json").hexdigest()
    assert by_code["invalid_json"]["original_size"] == 9
    assert all("original_base64" not in letter for letter in letters)
    assert all(letter["topic"] and letter["offset"] is not None for letter in letters)


def test_state_survives_a_worker_restart_through_the_changelog(deployment: Deployment) -> None:
    with running_worker(deployment, "first.log") as worker:
        publish(deployment, AGREEMENT)
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 1, 60, worker.describe)
    # A worker with an empty state directory: only the changelog topic can tell it of the agreement.
    with running_worker(deployment.second_worker(), "second.log") as worker:
        publish(deployment, REFERRAL)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)
        assert worker.metric("casewatch_events_consumed_total") == 1  # the agreement was not re-read
    stored = list_alerts(engine=connect(deployment.settings.database_url))
    assert [a.facts["agreement_id"] for a in stored] == ["wa-1"]


def test_messages_of_a_megabyte_are_dead_lettered_small_and_no_good_event_is_lost(deployment: Deployment) -> None:
    settings = deployment.settings
    topics = settings.topics
    children = [f"C{2000 + i}" for i in range(12)]
    pairs = [
        (AGREEMENT.model_copy(update={"child_id": c, "event_id": f"wa-{c}"}),
         REFERRAL.model_copy(update={"child_id": c, "event_id": f"ref-{c}"}))
        for c in children
    ]  # fmt: skip
    # About 1 MB each, keyed and placed right: one fails its schema (a field it must not have), one is not JSON.
    padded = json.dumps(REFERRAL.model_dump(mode="json") | {"notes": "x" * 990_000}).encode()
    poison = [(topics.for_event_type("referral"), padded), (topics.for_event_type("agreement"), b"{" * 990_000)]
    with running_worker(deployment, "first.log") as worker:
        assert worker.metric("casewatch_worker_ready") == 1
        with Publisher(str(settings.bootstrap_servers), topics) as publisher:
            for index, (agreement, referral) in enumerate(pairs):
                publisher.event(agreement)
                if index in (3, 8):
                    topic, value = poison[index == 8]
                    publisher.raw(topic, key=b"C1001", value=value)
                publisher.event(referral)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= len(pairs), 120, worker.describe)
        wait_until(lambda: worker.metric("casewatch_events_dead_lettered_total") >= 2, 30, worker.describe)
        worker.stop(signal.SIGKILL)
    database = connect(settings.database_url)
    with running_worker(deployment, "second.log") as worker:  # nothing is lost, nothing comes back
        publish(deployment, AGREEMENT, REFERRAL)
        # Not the persisted count: the new worker may store again what the killed one stored last.
        wait_until(lambda: "C1001" in {a.child_id for a in list_alerts(engine=database)}, 60, worker.describe)
    stored = list_alerts(engine=database)
    assert sorted(a.child_id for a in stored) == sorted([*children, "C1001"])
    records = read_topic(str(settings.bootstrap_servers), topics.dead_letter, settings.partitions)
    assert all(len(r.value) < 4096 for r in records)
    # By source position: the kill may make the next worker dead-letter a message again (at least once).
    letters = {(d["topic"], d["partition"], d["offset"]): d for d in (json.loads(r.value) for r in records)}
    assert sorted(letter["code"] for letter in letters.values()) == ["invalid_json", "schema"]
    assert sorted(letter["original_size"] for letter in letters.values()) == sorted([len(padded), 990_000])


def test_a_crashing_agent_is_counted_makes_the_worker_unready_and_a_crash_loop_stops_it(
    deployment: Deployment,
) -> None:
    settings = deployment.settings
    admin = KafkaAdminClient(bootstrap_servers=str(settings.bootstrap_servers))
    try:  # the broker refuses every alert: the correlate agent cannot finish its batch
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topics.alerts,
                                            configs={"max.message.bytes": "100"})])  # fmt: skip
    finally:
        admin.close()
    worker = WorkerProcess(deployment).start()
    try:
        assert worker.metric("casewatch_worker_ready") == 1
        publish(deployment, AGREEMENT, REFERRAL)
        wait_until(lambda: worker.metric("casewatch_agent_crashes_total", agent="correlate") >= 1, 60, worker.describe)
        assert worker.metric("casewatch_worker_ready") == 0
        assert worker.process is not None
        assert worker.process.wait(timeout=120) == 3
        assert "agent crashes within 60s, the last in correlate" in worker.log.read_text()
    finally:
        worker.stop(signal.SIGKILL)
    # Nothing of the batch was committed: with alerts accepted again, a new worker raises the alert.
    admin = KafkaAdminClient(bootstrap_servers=str(settings.bootstrap_servers))
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topics.alerts,
                                            configs={"max.message.bytes": "1048588"})])  # fmt: skip
    finally:
        admin.close()
    with running_worker(deployment, "after.log") as worker:
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)
    assert [a.child_id for a in list_alerts(engine=connect(settings.database_url))] == ["C1001"]


def test_partition_for_matches_the_partition_kafka_python_picks(deployment: Deployment) -> None:
    topics = deployment.settings.topics
    children = [f"C{i}" for i in range(40)]
    publish(deployment, *[REFERRAL.model_copy(update={"child_id": c, "event_id": f"r-{c}"}) for c in children])
    records = read_topic(
        str(deployment.settings.bootstrap_servers), topics.for_event_type("referral"), topics.partitions
    )
    assert {r.key.decode(): r.partition for r in records} == {c: topics.partition_for(c) for c in children}
