"""The whole path on real parts: Kafka broker, `casewatch worker` process, SQLite database."""

import json
from datetime import UTC, datetime

from casewatch.storage import connect, list_alerts
from schemas.alerts import Alert
from schemas.events import Referral, WrittenAgreement
from streams.publish import Publisher
from tests.integration.support import Deployment, read_topic, running_worker, wait_until

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
    ]
    with running_worker(deployment) as worker:
        with Publisher(str(settings.bootstrap_servers), topics) as publisher:
            for topic, key, value in bad:
                publisher.raw(topic, key=key, value=value)
        publish(deployment, AGREEMENT, REFERRAL)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)
        wait_until(lambda: worker.metric("casewatch_events_dead_lettered_total") >= len(bad), 30, worker.describe)
        assert worker.alive()

    letters = [
        json.loads(r.value)
        for r in read_topic(str(settings.bootstrap_servers), topics.dead_letter, settings.partitions)
    ]
    assert sorted(letter["code"] for letter in letters) == sorted(
        ["invalid_json", "unknown_event_type", "schema", "wrong_topic", "key_mismatch"]
    )
    by_code = {letter["code"]: letter for letter in letters}
    assert "occurred_at is after recorded_at" in by_code["schema"]["reason"]
    assert by_code["invalid_json"]["original_base64"] == "e25vdCBqc29u"  # base64 of b"{not json"
    assert all(letter["topic"] and letter["offset"] is not None for letter in letters)


def test_state_survives_a_worker_restart_through_the_changelog(deployment: Deployment) -> None:
    with running_worker(deployment, "first.log") as worker:
        publish(deployment, AGREEMENT)
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 1, 60, worker.describe)
    # A new process with an empty memory store: only the changelog topic can tell it of the agreement.
    with running_worker(deployment, "second.log") as worker:
        publish(deployment, REFERRAL)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)
        assert worker.metric("casewatch_events_consumed_total") == 1  # the agreement was not re-read
    stored = list_alerts(engine=connect(deployment.settings.database_url))
    assert [a.facts["agreement_id"] for a in stored] == ["wa-1"]


def test_partition_for_matches_the_partition_kafka_python_picks(deployment: Deployment) -> None:
    topics = deployment.settings.topics
    children = [f"C{i}" for i in range(40)]
    publish(deployment, *[REFERRAL.model_copy(update={"child_id": c, "event_id": f"r-{c}"}) for c in children])
    records = read_topic(
        str(deployment.settings.bootstrap_servers), topics.for_event_type("referral"), topics.partitions
    )
    assert {r.key.decode(): r.partition for r in records} == {c: topics.partition_for(c) for c in children}
