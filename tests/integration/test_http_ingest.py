"""POST /v1/events on real parts: `casewatch serve` as a process, the real broker, topics read back."""

import hashlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from openapi_spec_validator import validate

from casewatch.local_kafka import free_port
from schemas.alerts import Alert
from schemas.events import CaseClosure, Referral, WrittenAgreement
from streams.admin import ensure_topics
from tests.integration.http_support import TOKEN, Api, running_server
from tests.integration.support import Deployment, read_topic, running_worker, wait_until

LIMIT = 64 * 1024  # CASEWATCH_MAX_BODY_BYTES of the module's server
T = lambda day: datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)  # noqa: E731


def referral(child: str, event_id: str, day: str = "2024-05-02") -> Referral:
    return Referral(
        event_id=event_id, child_id=child, occurred_at=T(day), recorded_at=T(day), team="Front Door",
        source="lcs", referral_source="2A",
    )  # fmt: skip


def agreement(child: str, event_id: str, day: str = "2024-01-10") -> WrittenAgreement:
    return WrittenAgreement(
        event_id=event_id, child_id=child, occurred_at=T(day), recorded_at=T(day), team="CIN East", source="lcs",
        agreement_id=f"wa-{child}", action="made", accompanies_closure=True,
    )  # fmt: skip


def doc(event: Any, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(event.model_dump_json())
    document.update(changes)
    return document


def unique(prefix: str) -> str:
    """Tests share the module's topics: each one's children and ids are its own."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def deployment_for_module(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    created = Deployment.create(kafka_bootstrap, tmp_path_factory.mktemp("http"))
    ensure_topics(kafka_bootstrap, created.settings.topics)
    return created


@pytest.fixture(scope="module")
def api(deployment_for_module: Deployment) -> Iterator[Api]:
    with running_server(deployment_for_module, env={"CASEWATCH_MAX_BODY_BYTES": str(LIMIT)}) as server:
        yield server


def on_topic(deployment: Deployment, kind: str) -> list[Any]:
    settings = deployment.settings
    topic = settings.topics.dead_letter if kind == "dead-letter" else f"{settings.topic_prefix}.{kind}"
    return read_topic(str(settings.bootstrap_servers), topic, settings.partitions)


def dead_letters_of(deployment: Deployment, batch_id: str) -> dict[int, dict[str, Any]]:
    """The batch's dead-letter records by index (their origin is http:<batch_id>:<index>)."""
    found = {}
    for record in on_topic(deployment, "dead-letter"):
        letter = json.loads(record.value)
        origin, _, index = str(letter["topic"]).rpartition(":")
        if origin == f"http:{batch_id}":
            found[int(index)] = letter
    return found


def event_ids_on(deployment: Deployment, kind: str) -> list[str]:
    return [json.loads(record.value)["event_id"] for record in on_topic(deployment, kind)]


def test_requests_without_a_valid_token_are_refused_and_publish_nothing(
    api: Api, deployment_for_module: Deployment
) -> None:
    event_id = unique("lcs:unauth")
    body = json.dumps([doc(referral(unique("C"), event_id))]).encode()
    same_length = TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y")
    refused = [
        api.post_events(body, token=None),
        api.post_events(body, token="wrong"),
        api.post_events(body, token=same_length),
        api.post_events(body, token=None, headers={"Authorization": f"Basic {TOKEN}"}),
        api.post_events(body, token=None, headers={"Authorization": TOKEN}),
        api.request("GET", "/metrics", token=same_length),
    ]
    for answer in refused:
        assert answer.status == 401, answer
        assert answer.headers["www-authenticate"] == 'Bearer realm="casewatch"'
        assert answer.json() == {"error": "a valid bearer token is required"}
    assert api.request("GET", "/healthz", token=None).json() == {"status": "ok"}
    assert event_id not in event_ids_on(deployment_for_module, "referrals")


def test_a_mixed_batch_is_answered_per_event_and_each_event_goes_where_it_belongs(
    api: Api, deployment_for_module: Deployment
) -> None:
    child, other = unique("C"), unique("C")
    ref, wa = referral(child, unique("lcs:ref")), agreement(child, unique("lcs:wa"))
    closure = CaseClosure(
        event_id=unique("lcs:close"), child_id=other, occurred_at=T("2024-02-01"), recorded_at=T("2024-02-01"),
        team="CIN East", source="lcs", reason="RC8",
    )  # fmt: skip
    bad_code = doc(referral(child, unique("lcs:bad")), referral_source="99")
    with_name = doc(referral(child, unique("lcs:named")), name="Jane Smith")
    batch = [doc(ref), doc(wa), bad_code, {"event_type": "memo", "event_id": "x1"}, 42, with_name, doc(ref),
             doc(closure)]  # fmt: skip
    counted = [("accepted", ""), ("rejected", "schema"), ("rejected", "unknown_event_type"),
               ("rejected", "invalid_json"), ("duplicate", "")]  # fmt: skip
    before = {c: api.metric("casewatch_http_events_total", status=c[0], reason=c[1]) for c in counted}

    answer = api.post_events(json.dumps(batch).encode())

    assert answer.status == 200, answer
    result = answer.json()
    assert [(r["index"], r["status"], r.get("code")) for r in result["results"]] == [
        (0, "accepted", None),
        (1, "accepted", None),
        (2, "rejected", "schema"),
        (3, "rejected", "unknown_event_type"),
        (4, "rejected", "invalid_json"),
        (5, "rejected", "schema"),
        (6, "duplicate", None),
        (7, "accepted", None),
    ]
    assert (result["accepted"], result["rejected"], result["duplicate"]) == (3, 4, 1)
    by_index = result["results"]
    assert [r["event_id"] for r in by_index] == [
        ref.event_id, wa.event_id, bad_code["event_id"], "x1", None, with_name["event_id"], ref.event_id,
        closure.event_id,
    ]  # fmt: skip
    assert "referral_source" in by_index[2]["reason"]
    assert "name" in by_index[5]["reason"] and "Jane" not in answer.body.decode()
    assert by_index[6]["reason"] == "event_id already accepted at index 0 of this batch"

    # Valid events are on their topics, keyed by child, once each (the duplicate was not sent).
    referrals = [r for r in on_topic(deployment_for_module, "referrals") if r.key == child.encode()]
    assert [json.loads(r.value)["event_id"] for r in referrals] == [ref.event_id]
    assert Referral.model_validate_json(referrals[0].value) == ref
    assert wa.event_id in event_ids_on(deployment_for_module, "agreements")
    assert closure.event_id in event_ids_on(deployment_for_module, "closures")

    # Refused ones are on the dead-letter topic with the reason the answer gave, and a digest of their bytes.
    letters = dead_letters_of(deployment_for_module, result["batch_id"])
    assert sorted(letters) == [2, 3, 4, 5]
    for index, letter in letters.items():
        assert (letter["code"], letter["reason"]) == (by_index[index]["code"], by_index[index]["reason"])
        assert letter["original_sha256"] == hashlib.sha256(json.dumps(batch[index]).encode()).hexdigest()
        assert "original_base64" not in letter

    after = {c: api.metric("casewatch_http_events_total", status=c[0], reason=c[1]) for c in counted}
    assert [after[c] - before[c] for c in counted] == [3, 2, 1, 1, 1]


def test_an_ndjson_batch_is_answered_line_by_line(api: Api, deployment_for_module: Deployment) -> None:
    child = unique("C")
    ref, wa = referral(child, unique("lcs:ref")), agreement(child, unique("lcs:wa"))
    broken = b'{"event_type": "referral",'
    body = b"\r\n".join([ref.model_dump_json().encode(), b"", broken, wa.model_dump_json().encode()])

    answer = api.post_events(body, "application/x-ndjson")

    assert answer.status == 200, answer
    result = answer.json()
    assert [(r["index"], r["status"]) for r in result["results"]] == [(0, "accepted"), (1, "rejected"), (2, "accepted")]
    assert result["results"][1]["reason"].startswith("not valid JSON")
    assert ref.event_id in event_ids_on(deployment_for_module, "referrals")
    assert wa.event_id in event_ids_on(deployment_for_module, "agreements")
    letters = dead_letters_of(deployment_for_module, result["batch_id"])
    assert list(letters) == [1]
    assert (letters[1]["original_sha256"], letters[1]["original_size"]) == (hashlib.sha256(broken).hexdigest(), 26)


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: Api, deployment_for_module: Deployment) -> None:
    # Declared too large: the answer comes although only the first kilobyte is ever sent.
    with socket.create_connection((api.host, api.port), timeout=15) as raw:
        raw.sendall(
            f"POST /v1/events HTTP/1.1\r\nHost: {api.host}\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {100 * LIMIT}\r\n\r\n".encode()
            + b"[" + b" " * 1024
        )  # fmt: skip
        started = time.monotonic()
        status_line = raw.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert time.monotonic() - started < 10

    # Declaring nothing (chunked) does not get round it: the server counts as it reads.
    event_id = unique("lcs:big")
    first = json.dumps([doc(referral(unique("C"), event_id))]).encode()[:-1]
    chunks = [first, *([b"," + b" " * 4095] * (LIMIT // 4096 + 1)), b"]"]
    answer = api.post_events(iter(chunks))
    assert answer.status == 413, answer
    assert answer.json() == {"error": f"the body is over {LIMIT} bytes: send smaller batches"}
    assert event_id not in event_ids_on(deployment_for_module, "referrals")

    # A body of exactly the limit is read.
    line = referral(unique("C"), unique("lcs:fits")).model_dump_json().encode()
    exactly = line + b"\n" * (LIMIT - len(line))
    assert api.post_events(exactly, "application/x-ndjson").status == 200


@pytest.mark.parametrize(
    ("content_type", "body", "status", "says"),
    [
        ("text/plain", b"[]", 415, "send application/json"),
        (None, b"[]", 415, "send application/json"),
        ("application/json; charset=utf-8", b'{"event_type": "referral"}', 400, "wrap a single event in [ ]"),
        ("application/json", b"[{", 400, "not valid JSON"),
        ("application/json", b"[]", 400, "the batch holds no events"),
        ("application/x-ndjson", b"\n\n", 400, "the batch holds no events"),
    ],
)
def test_what_is_not_a_batch_is_refused_whole(
    api: Api, content_type: str | None, body: bytes, status: int, says: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = api.request("POST", "/v1/events", body, headers=headers)
    assert answer.status == status, answer
    assert says in answer.json()["error"]


def test_the_openapi_document_is_served_without_a_token(api: Api) -> None:
    answer = api.request("GET", "/openapi.json", token=None)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    spec = answer.json()
    validate(spec)
    assert "post" in spec["paths"]["/v1/events"]
    assert "CaseEvent" in spec["components"]["schemas"]


def test_kafka_unreachable_answers_503_and_the_server_stays_up(tmp_path: Path) -> None:
    nowhere = Deployment.create(f"127.0.0.1:{free_port()}", tmp_path)  # nothing listens there
    with running_server(nowhere) as down:
        answer = down.post_events(json.dumps([doc(referral("C1", "lcs:r1"))]).encode())
        assert answer.status == 503, answer
        assert answer.headers["retry-after"] == "5"
        assert "send the whole batch again" in answer.json()["error"]
        assert down.request("GET", "/healthz", token=None).status == 200


def set_max_message_bytes(deployment: Deployment, topic: str, limit: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=str(deployment.settings.bootstrap_servers))
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(limit)})]
        )
    finally:
        admin.close()


def test_events_kafka_did_not_acknowledge_are_answered_unconfirmed_and_the_rest_stand(deployment: Deployment) -> None:
    """Part of a batch on the broker: the 503 says event by event what to send again."""
    closures = deployment.settings.topics.for_event_type("closure")
    child = unique("C")
    closure = CaseClosure(
        event_id=unique("lcs:close"), child_id=child, occurred_at=T("2024-03-01"), recorded_at=T("2024-03-01"),
        team="CIN East", source="lcs", reason="RC8",
    )  # fmt: skip
    first, second = unique("lcs:ref"), unique("lcs:ref")
    batch = [doc(referral(child, first)), doc(closure), doc(referral(child, first)), doc(referral(child, second))]
    with running_server(deployment) as api:
        # An operator lowered the closures topic's limit below one event: the broker refuses it alone.
        set_max_message_bytes(deployment, closures, 100)
        answer = api.post_events(json.dumps(batch).encode())
        assert answer.status == 503, answer
        assert answer.headers["retry-after"] == "5"
        body = answer.json()
        assert [(r["index"], r["status"]) for r in body["results"]] == [
            (0, "accepted"), (1, "unconfirmed"), (2, "duplicate"), (3, "accepted"),
        ]  # fmt: skip
        assert (body["accepted"], body["unconfirmed"], body["duplicate"]) == (2, 1, 1)
        assert "send the events whose status is unconfirmed again" in body["error"]
        assert body["results"][1]["reason"] == "Kafka did not acknowledge it: send it again"
        assert sorted(e for e in event_ids_on(deployment, "referrals") if e in (first, second)) == sorted(
            [first, second]
        )
        assert closure.event_id not in event_ids_on(deployment, "closures")

        set_max_message_bytes(deployment, closures, 1_048_588)
        resent = api.post_events(json.dumps([batch[1]]).encode())
        assert resent.status == 200, resent
        assert resent.json()["accepted"] == 1
    assert event_ids_on(deployment, "closures").count(closure.event_id) == 1


def test_a_batch_sent_twice_raises_one_alert(deployment: Deployment) -> None:
    """Redelivery across batches is harmless: stable ids, idempotent engine, one alert."""
    child = unique("C")
    batch = json.dumps([doc(agreement(child, "lcs:wa-9:made")), doc(referral(child, "lcs:ref-9"))]).encode()
    with running_worker(deployment) as worker, running_server(deployment) as api:
        for attempt in (1, 2):
            answer = api.post_events(batch)
            assert answer.status == 200, answer
            assert answer.json()["accepted"] == 2
            wait_until(lambda n=attempt: worker.metric("casewatch_events_consumed_total") >= 2 * n, 60, worker.describe)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 60, worker.describe)
        assert worker.metric("casewatch_alerts_raised_total", rule="rereferral_after_agreement") == 1
    alerts = [Alert.model_validate_json(r.value) for r in on_topic(deployment, "alerts")]
    assert [(a.child_id, a.event_ids) for a in alerts] == [(child, ["lcs:wa-9:made", "lcs:ref-9"])]
