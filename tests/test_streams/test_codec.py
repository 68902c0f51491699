import base64
import hashlib
import json

import pytest

from schemas.events import Referral
from streams.codec import Rejection, dead_letter, decode_event, decode_message
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
    assert "child_id" in result.reason and "name" in result.reason
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
