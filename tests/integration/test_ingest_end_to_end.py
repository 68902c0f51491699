"""Source files through `casewatch ingest` on the real broker, to the real worker's alert.

A CIN census says the child was referred, assessed and the case closed, then referred
again; the agreements extract says the case was closed with a written agreement. Only
the two together are the pattern the peer review found, and the worker must raise it
once, however many times the files are loaded.
"""

import json
from collections import Counter
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from casewatch.storage import connect, list_alerts
from schemas.alerts import Alert
from schemas.events import parse_event
from streams.admin import ensure_topics
from tests.integration.support import Deployment, read_topic, running_worker, wait_until
from tests.test_streams.samples import AGREEMENTS_HEADER, assessment, census, child, episode, write

EXPECTED_EVENTS = {
    ("referrals", "referral", "C1", "2023-01-10"),
    ("referrals", "referral", "C1", "2023-09-01"),
    ("referrals", "referral", "C2", "2023-04-01"),
    ("assessments", "assessment", "C1", "2023-02-01"),
    ("closures", "closure", "C1", "2023-03-01"),
    ("agreements", "agreement", "C1", "2023-03-01"),
}


def source_files(folder: Path) -> list[str]:
    cin = write(folder, "census.xml", census(
        child("C1", episode("2023-01-10", assessment("2023-01-11", "2023-02-01", "3A"), closure="2023-03-01",
                            reason="RC8"),
              episode("2023-09-01")),
        child("C2", episode("2023-04-01")),
        child("C3", episode("2023-04-01", closure="2023-03-01", reason="RC8")),  # closed before referred
    ))  # fmt: skip
    agreements = write(
        folder, "agreements.csv", f"{AGREEMENTS_HEADER}\nwa-1,C1,CIN East,2023-03-01,2023-04-01,,,,yes\n"
    )
    return [str(cin), str(agreements)]


def test_census_and_agreements_raise_the_alert_once_even_when_loaded_twice(deployment: Deployment) -> None:
    settings = deployment.settings
    files = source_files(deployment.folder)
    with running_worker(deployment) as worker:
        first = deployment.run_cli("ingest", *files)
        assert first.returncode == 3, first.stderr  # one record refused: input rejected
        assert first.stdout.startswith("accepted 6 events, rejected 1")
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)

        again = deployment.run_cli("ingest", *files)  # the same files, loaded again
        assert again.returncode == 3, again.stderr
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 12, 60, worker.describe)
        assert worker.metric("casewatch_alerts_raised_total", rule="rereferral_after_agreement") == 1

    bootstrap, topics = str(settings.bootstrap_servers), settings.topics
    seen: Counter[tuple[str, str, str, str, str]] = Counter()
    for name in ("referrals", "assessments", "closures", "agreements"):
        for record in read_topic(bootstrap, f"{topics.prefix}.{name}", settings.partitions):
            event = parse_event(record.value)
            assert record.key == event.child_id.encode()
            seen[(name, event.event_type, event.child_id, event.day.isoformat(), event.event_id)] += 1
    assert {key[:4] for key in seen} == EXPECTED_EVENTS
    assert set(seen.values()) == {2}  # each event twice, under one id: a redelivery, not a new event

    letters = [json.loads(r.value) for r in read_topic(bootstrap, topics.dead_letter, settings.partitions)]
    assert [(d["code"], d["topic"]) for d in letters] == [
        ("date_order", "census.xml:/Message/Children/Child[3]/CINdetails[1]/CINclosureDate")
    ] * 2
    assert "whole episode is skipped" in letters[0]["reason"] and letters[0]["original_sha256"] is None

    raised = [Alert.model_validate_json(r.value) for r in read_topic(bootstrap, topics.alerts, settings.partitions)]
    # The agreement left at C1's closure is a finding of its own too (docs/rules.md); the
    # re-referral after it is raised once, though the files were loaded twice.
    [alert] = [a for a in raised if a.rule == "rereferral_after_agreement"]
    assert (alert.child_id, alert.severity, alert.delivery, alert.team) == ("C1", "medium", "immediate", "CIN East")
    assert alert.facts["is_dfe_rereferral"] is True  # 2023-01-10, then 2023-09-01: within 12 months
    assert alert.facts["agreement_id"] == "wa-1"
    assert (alert.facts["agreement_made"], alert.facts["referral_date"]) == ("2023-03-01", "2023-09-01")
    assert alert.facts["accompanied_closure"] is True
    stored = list_alerts(engine=connect(settings.database_url))
    assert sorted(a.alert_id for a in stored) == sorted({a.alert_id for a in raised})  # each stored once


def test_ingest_fails_when_the_broker_refuses_an_event_and_says_how_many(deployment: Deployment) -> None:
    """An event the broker does not take is not reported as published: ingest exits 1 and counts it.

    The agreements topic is made to refuse every record (its size limit below any event), so
    the producer's send fails on the broker, not in the client, as a broker that gives up does.
    """
    settings = deployment.settings
    bootstrap = str(settings.bootstrap_servers)
    ensure_topics(bootstrap, settings.topics)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        limit = ConfigResource(ConfigResourceType.TOPIC, settings.topics.for_event_type("agreement"),
                               configs={"max.message.bytes": "64"})  # fmt: skip
        admin.alter_configs([limit])
    finally:
        admin.close()
    refused = deployment.run_cli("ingest", *source_files(deployment.folder))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "1 record(s) did not reach Kafka (1 MessageSizeTooLargeError)" in refused.stderr
    assert "accepted" not in refused.stdout  # no success report for a partial publish
