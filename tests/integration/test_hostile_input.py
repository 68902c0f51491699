"""Issue 14 on real parts: `casewatch serve`, the worker process, the broker, the CLI.

A future-dated event is refused at the HTTP door and at the worker's decode (a raw message
put straight on the topic), with its reason; the child's real agreement and re-referral
that follow still raise the alert, as for a control child and as in replay. Reasons never
echo the hostile strings the audit sent.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.alerts import Alert
from schemas.events import Referral, WrittenAgreement
from streams.publish import Publisher
from tests.integration.http_support import running_server
from tests.integration.support import Deployment, read_topic, running_worker, wait_until

HOSTILE_KEY = "Jane Smith DOB 2015-02-01 ... told us her stepfather hits her"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


def referral(child: str, event_id: str, day: str) -> dict[str, Any]:
    event = Referral(event_id=event_id, child_id=child, occurred_at=at(day), recorded_at=at(day), team="Front Door",
                     source="lcs")  # fmt: skip
    return json.loads(event.model_dump_json())


def agreement(child: str, event_id: str, day: str) -> dict[str, Any]:
    event = WrittenAgreement(event_id=event_id, child_id=child, occurred_at=at(day), recorded_at=at(day),
                             team="CIN East", source="lcs", agreement_id=f"wa-{child}", action="made")  # fmt: skip
    return json.loads(event.model_dump_json())


def test_a_future_dated_event_is_refused_at_every_live_door_and_the_child_still_alerts(
    deployment: Deployment,
) -> None:
    settings = deployment.settings
    future = referral("C-future", "lcs:ref-2200", "2026-01-01") | {
        "occurred_at": "2200-01-01T00:00:00Z", "recorded_at": "2200-01-01T00:00:00Z"}  # fmt: skip
    hostile = referral("C-future", "lcs:ref-h", "2026-01-01") | {HOSTILE_KEY: "x", "event_type": "referral"}
    extreme = referral("C-future", "lcs:ref-x", "2026-01-01") | {
        "occurred_at": "9999-12-31T23:59:59-14:00", "recorded_at": "9999-12-31T23:59:59-14:00"}  # fmt: skip
    real = [agreement("C-future", "lcs:wa-f", "2026-06-10"), referral("C-future", "lcs:ref-f", "2026-11-02")]
    control = [agreement("C-control", "lcs:wa-c", "2026-06-10"), referral("C-control", "lcs:ref-c", "2026-11-02")]
    with running_worker(deployment) as worker, running_server(deployment) as api:
        # Straight onto the topic, past the HTTP door: the worker's decode refuses it.
        with Publisher(str(settings.bootstrap_servers), settings.topics) as publisher:
            publisher.raw(settings.topics.for_event_type("referral"), key=b"C-future",
                          value=json.dumps(future).encode())  # fmt: skip
        answer = api.post_events(json.dumps([future, hostile, extreme]).encode())
        assert answer.status == 200, answer
        results = answer.json()["results"]
        assert [(r["status"], r["code"]) for r in results] == [
            ("rejected", "future_date"), ("rejected", "schema"), ("rejected", "schema")]  # fmt: skip
        assert results[0]["reason"].startswith("occurred_at: is more than 1 day after the time it arrived")
        assert "Jane" not in results[1]["reason"] and "unknown field" in results[1]["reason"]
        assert "after the year 9999" in results[2]["reason"]
        answer = api.post_events(json.dumps([*real, *control]).encode())
        assert answer.status == 200 and answer.json()["accepted"] == 4, answer
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 2, 90, worker.describe)
        wait_until(lambda: worker.metric("casewatch_events_dead_lettered_total") >= 1, 30, worker.describe)
        log = worker.describe()
    alerts = [Alert.model_validate_json(r.value) for r in
              read_topic(str(settings.bootstrap_servers), settings.topics.alerts, settings.partitions)]  # fmt: skip
    assert sorted((a.child_id, a.rule) for a in alerts) == [
        ("C-control", "rereferral_after_agreement"), ("C-future", "rereferral_after_agreement")]  # fmt: skip
    dead = read_topic(str(settings.bootstrap_servers), settings.topics.dead_letter, settings.partitions)
    letters = [json.loads(r.value) for r in dead]
    from_worker = [letter for letter in letters if not str(letter["topic"]).startswith("http:")]
    assert [letter["code"] for letter in from_worker] == ["future_date"]
    assert all("Jane" not in letter["reason"] for letter in letters)
    assert "Jane" not in log


def test_ingest_refuses_a_future_dated_line_and_publishes_the_rest(deployment: Deployment, tmp_path: Path) -> None:
    lines = [
        referral("C-i", "lcs:ref-i1", "2026-01-01") | {"occurred_at": "2200-01-01T00:00:00Z",
                                                        "recorded_at": "2200-01-01T00:00:00Z"},
        referral("C-i", "lcs:ref-upn", "2026-01-01") | {"child_id": "A123456789012"},
        referral("C-i", "lcs:ref-i2", "2026-02-01") | {HOSTILE_KEY: 1},
        referral("C-i", "lcs:ref-i3", "2026-03-01"),
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    done = deployment.run_cli("ingest", str(path))
    assert done.returncode == 3, done.stderr  # records refused: input rejected
    assert "events.jsonl:1: rejected (future_date): occurred_at: is more than 1 day after" in done.stderr
    assert "events.jsonl:2: rejected (schema): child_id: Value error, has the shape of a UPN" in done.stderr
    assert "Jane" not in done.stderr + done.stdout and "A123456789012" not in done.stderr + done.stdout
    assert "accepted 1 events, rejected 3" in done.stdout
    settings = deployment.settings
    published = read_topic(str(settings.bootstrap_servers), settings.topics.for_event_type("referral"),
                           settings.partitions)  # fmt: skip
    assert [json.loads(r.value)["event_id"] for r in published] == ["lcs:ref-i3"]
