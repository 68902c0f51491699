import base64
import hashlib
import json

import pytest

from schemas.events import Referral
from streams.codec import (
    FORWARDED_FROM,
    Forward,
    Rejection,
    dead_letter,
    decode_event,
    decode_message,
    forwarded_from,
    forwarded_headers,
)
from streams.topics import Topics
from tests.test_agents.events import referral

TOPICS = Topics(prefix="cw", partitions=3)
GOOD = referral("2024-05-02").model_dump_json().encode()


def test_a_valid_message_decodes() -> None:
    event = decode_event(GOOD, key=b"C1", topic="cw.referrals", topics=TOPICS)
    assert isinstance(event, Referral)


@pytest.mark.parametrize(
    ("raw", "key", "topic", "code"),
    [
        (None, None, None, "empty"),
        (b"\xff\xfe", None, None, "invalid_json"),
        (b"{not json", None, None, "invalid_json"),
        (b"[1, 2]", None, None, "invalid_json"),
        (b'{"event_type": "phone_call"}', None, None, "unknown_event_type"),
        (b'{"child_id": "C1"}', None, None, "unknown_event_type"),
        (b'{"event_type": "referral"}', None, None, "schema"),
        (GOOD, b"C2", None, "key_mismatch"),
        (GOOD, b"C1", "cw.agreements", "wrong_topic"),
    ],
)
def test_rejections_have_a_code(raw: bytes | None, key: bytes | None, topic: str | None, code: str) -> None:
    result = decode_event(raw, key=key, topic=topic, topics=TOPICS)
    assert isinstance(result, Rejection)
    assert result.code == code
    assert result.reason


def test_an_event_on_another_partition_than_its_child_hashes_to_is_refused() -> None:
    home = TOPICS.partition_for("C1")
    assert isinstance(decode_event(GOOD, partition=home, topics=TOPICS), Referral)
    result = decode_event(GOOD, partition=(home + 1) % 3, topics=TOPICS)
    assert isinstance(result, Rejection)
    assert result.code == "wrong_partition"
    assert "murmur2" in result.reason


def test_reasons_never_echo_the_values_sent() -> None:
    raw = json.dumps(json.loads(GOOD) | {"child_id": "Jane Smith", "name": "Jane Smith"}).encode()
    result = decode_event(raw)
    assert isinstance(result, Rejection)
    assert "Jane" not in result.reason
    assert "child_id" in result.reason and "an unknown field" in result.reason
    unknown = decode_event(b'{"event_type": "Jane Smith lives at 1 High St"}')
    assert isinstance(unknown, Rejection) and "Jane" not in unknown.reason


def test_dead_letter_names_where_the_message_came_from_and_its_digest_never_its_bytes() -> None:
    original = b'{"child_id": "C1", "note": "Jane Smith, 12 Acacia Avenue"'
    record = json.loads(dead_letter(original, Rejection("invalid_json", "why"), topic="t", partition=2, offset=9))
    assert record["code"] == "invalid_json" and record["reason"] == "why"
    assert (record["topic"], record["partition"], record["offset"]) == ("t", 2, 9)
    assert record["original_sha256"] == hashlib.sha256(original).hexdigest()
    assert record["original_size"] == len(original)
    text = dead_letter(original, Rejection("invalid_json", "why"), topic="t")
    assert b"Jane" not in text and base64.b64encode(original) not in text


def test_a_dead_letter_record_is_small_whatever_the_input() -> None:
    huge = b"x" * 5_000_000
    record = dead_letter(huge, Rejection("invalid_json", "r" * 2_000_000), topic="f" * 100_000, offset=1)
    assert len(record) < 4096
    assert json.loads(record)["original_size"] == 5_000_000


def test_a_message_without_a_key_is_refused_as_missing_key() -> None:
    topic, partition = "cw.referrals", TOPICS.partition_for("C1")
    result = decode_message(GOOD, key=None, topic=topic, partition=partition, topics=TOPICS)
    assert isinstance(result, Rejection) and result.code == "missing_key"
    keyed = decode_message(GOOD, key=b"C1", topic=topic, partition=partition, topics=TOPICS)
    assert not isinstance(keyed, Rejection)


def test_every_event_type_has_a_topic_and_all_topics_share_the_partition_count() -> None:
    from schemas.events import EVENT_TYPE_NAMES

    for event_type in EVENT_TYPE_NAMES:
        assert TOPICS.for_event_type(event_type) in TOPICS.inputs
    assert {spec.partitions for spec in TOPICS.specs()} == {3}
    assert len({spec.name for spec in TOPICS.specs()}) == len(TOPICS.specs())


def test_an_event_on_the_wrong_partition_is_to_be_forwarded_to_its_childs_once() -> None:
    topic, home = "cw.referrals", TOPICS.partition_for("C1")
    elsewhere = (home + 1) % 3
    assert isinstance(decode_message(GOOD, key=b"C1", topic=topic, partition=home, topics=TOPICS), Referral)
    moved = decode_message(GOOD, key=b"C1", topic=topic, partition=elsewhere, topics=TOPICS, headers=[])
    assert isinstance(moved, Forward)
    assert moved.partition == home and moved.event.child_id == "C1"
    # Forwarded already and on a wrong partition again: the workers disagree on the partition count.
    header = forwarded_from(topic, elsewhere, 7)
    assert header == (FORWARDED_FROM, f"{topic}:{elsewhere}:7".encode())
    for headers in ([("other", b"x"), header], dict([header])):
        again = decode_message(GOOD, key=b"C1", topic=topic, partition=elsewhere, topics=TOPICS, headers=headers)
        assert isinstance(again, Rejection) and again.code == "wrong_partition"
        assert "forwarded here already" in again.reason and "CASEWATCH_PARTITIONS" in again.reason
    # The copy keeps the message's own headers.
    copied = forwarded_headers([("trace", b"1")], topic=topic, partition=elsewhere, offset=7)
    assert copied == [("trace", b"1"), header] == forwarded_headers({"trace": b"1"}, topic=topic,
                                                                    partition=elsewhere, offset=7)  # fmt: skip
    # Forwarded and now on its child's partition: applied.
    arrived = decode_message(GOOD, key=b"C1", topic=topic, partition=home, topics=TOPICS, headers=[header])
    assert isinstance(arrived, Referral)


def test_an_invalid_event_on_the_wrong_partition_is_dead_lettered_for_what_is_wrong_with_it() -> None:
    topic, elsewhere = "cw.referrals", (TOPICS.partition_for("C1") + 1) % 3
    for key, code in ((b"C2", "key_mismatch"), (b"C1", "schema")):
        raw = GOOD if code != "schema" else b'{"event_type": "referral"}'
        result = decode_message(raw, key=key, topic=topic, partition=elsewhere, topics=TOPICS)
        assert isinstance(result, Rejection) and result.code == code
