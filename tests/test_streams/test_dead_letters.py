import hashlib
import json
from datetime import UTC, datetime

import pytest

from schemas.events import Referral
from streams.admission import InputPolicy
from streams.codec import Rejection, dead_letter
from streams.dead_letters import DeadLetter, DeadLetterError, Selection, Skipped, parse_id, redrive_event
from streams.topics import Topics
from tests.test_agents.events import referral

TOPICS = Topics(prefix="cw", partitions=3)
GOOD = referral("2024-05-02").model_dump_json().encode()


def letter(raw: bytes | None = GOOD, code: str = "key_mismatch", topic: str | None = "cw.referrals",
           partition: int | None = 1, offset: int | None = 7) -> DeadLetter:  # fmt: skip
    record = dead_letter(raw, Rejection(code, "why"), topic=topic, partition=partition, offset=offset)
    parsed = DeadLetter.parse("cw.dead-letter:0:3", record)
    assert parsed is not None
    return parsed


def test_a_dead_letter_record_reads_back_as_written() -> None:
    read = letter()
    assert (read.code, read.reason, read.topic, read.partition, read.offset) == ("key_mismatch", "why",
                                                                                 "cw.referrals", 1, 7)  # fmt: skip
    assert read.original_sha256 == hashlib.sha256(GOOD).hexdigest() and read.original_size == len(GOOD)
    assert read.source == "cw.referrals[1]@7" and read.dead_lettered_at is not None
    assert json.loads(json.dumps(read.as_json()))["id"] == "cw.dead-letter:0:3"
    assert letter(topic="events.jsonl:4", partition=None, offset=None).source == "events.jsonl:4"


@pytest.mark.parametrize("value", [None, b"not json", b"[]", b'{"reason": "no code"}', b'{"code": 3}'])
def test_anything_else_on_the_topic_is_not_a_dead_letter(value: bytes | None) -> None:
    assert DeadLetter.parse("cw.dead-letter:0:0", value) is None


def test_a_selection_filters_by_code_topic_and_time() -> None:
    read = letter()
    assert read.dead_lettered_at is not None
    assert Selection().matches(read)
    assert Selection(codes=frozenset({"key_mismatch", "schema"})).matches(read)
    assert not Selection(codes=frozenset({"schema"})).matches(read)
    assert Selection(topic="cw.referrals").matches(read) and not Selection(topic="cw.plans").matches(read)
    assert Selection(topic="events.jsonl").matches(letter(topic="events.jsonl:4", partition=None, offset=None))
    assert not Selection(topic="cw.ref").matches(read)
    assert Selection(since=read.dead_lettered_at).matches(read)
    assert not Selection(until=read.dead_lettered_at).matches(read)
    assert not Selection(since=datetime(2999, 1, 1, tzinfo=UTC)).matches(read)


@pytest.mark.parametrize(("text", "expected"), [("cw.dead-letter:2:41", (2, 41)), ("0:5", (0, 5))])
def test_an_id_is_a_position_on_the_dead_letter_topic(text: str, expected: tuple[int, int]) -> None:
    assert parse_id(text, TOPICS) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [("other:0:1", "not on this deployment"), ("7", "TOPIC:PARTITION:OFFSET"), ("a:b", "numbers"),
     ("3:0", "no such position"), ("-1:0", "no such position")],
)  # fmt: skip
def test_a_bad_id_says_what_an_id_is(text: str, says: str) -> None:
    with pytest.raises(DeadLetterError, match=says):
        parse_id(text, TOPICS)


def test_a_redrive_validates_the_original_as_ingest_does_after_checking_its_digest() -> None:
    event = redrive_event(letter(), GOOD, TOPICS, retained=True)
    assert isinstance(event, Referral) and event.event_id == json.loads(GOOD)["event_id"]
    changed = GOOD.replace(b"2024-05-02", b"2024-05-03")
    assert "does not match" in _skipped(redrive_event(letter(), changed, TOPICS, retained=True))
    assert "retention" in _skipped(redrive_event(letter(), None, TOPICS, retained=False))
    from_file = letter(topic="events.jsonl:4", partition=None, offset=None)
    assert "--file" in _skipped(redrive_event(from_file, GOOD, TOPICS, retained=False))
    tick = letter(code="invalid_tick", topic="cw.ticks")
    assert "workers' own topics" in _skipped(redrive_event(tick, GOOD, TOPICS, retained=True))
    # Still refused by what ingest admits: the reason, and nothing is published.
    strict = InputPolicy(teams=frozenset({"Nobody"}))
    assert "still refused" in _skipped(redrive_event(letter(), GOOD, TOPICS, retained=True, policy=strict))


def _skipped(result: object) -> str:
    assert isinstance(result, Skipped)
    return result.reason
