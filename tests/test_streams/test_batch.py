"""A posted batch is split and judged event by event, with the codec every other path uses."""

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.events import Referral, WrittenAgreement
from streams.batch import JSON_ARRAY, MAX_EVENT_BYTES, NDJSON, BatchError, read_batch
from streams.codec import Rejection, decode_event

T = datetime(2024, 3, 1, 9, tzinfo=UTC)
REFERRAL = Referral(
    event_id="lcs:ref-1", child_id="C1", occurred_at=T, recorded_at=T, team="Front Door", source="lcs",
    referral_source="1A",
)  # fmt: skip
AGREEMENT = WrittenAgreement(
    event_id="lcs:wa-1:made", child_id="C1", occurred_at=T, recorded_at=T, team="CIN East", source="lcs",
    agreement_id="wa-1", action="made",
)  # fmt: skip


def doc(event: Any, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(event.model_dump_json())
    document.update(changes)
    return document


def array(*items: Any) -> bytes:
    return json.dumps(list(items)).encode()


def test_each_element_of_an_array_gets_its_own_verdict_in_order() -> None:
    bad_code = doc(REFERRAL, event_id="lcs:ref-2", referral_source="99")
    verdicts = read_batch(array(doc(REFERRAL), bad_code, 42, doc(AGREEMENT)), JSON_ARRAY)

    assert [v.index for v in verdicts] == [0, 1, 2, 3]
    assert [v.status for v in verdicts] == ["accepted", "rejected", "rejected", "accepted"]
    assert verdicts[0].result == REFERRAL
    assert verdicts[3].result == AGREEMENT
    assert verdicts[1].event_id == "lcs:ref-2"  # readable, so reported even though refused
    assert verdicts[2].event_id is None
    assert isinstance(verdicts[2].result, Rejection) and verdicts[2].result.reason == "not a JSON object"


def test_an_element_is_judged_exactly_as_the_same_bytes_on_a_topic() -> None:
    elements = [doc(REFERRAL), doc(REFERRAL, referral_source="99"), doc(REFERRAL, event_type="nope"), [1], "x"]
    verdicts = read_batch(array(*elements), JSON_ARRAY)
    for verdict in verdicts:
        assert verdict.raw is not None
        assert verdict.result == decode_event(verdict.raw)


def test_a_repeated_event_id_is_a_duplicate_of_the_first_accepted_one() -> None:
    refused_first = doc(REFERRAL, referral_source="99")  # same id, but refused: it does not count
    verdicts = read_batch(array(refused_first, doc(REFERRAL), doc(AGREEMENT), doc(REFERRAL)), JSON_ARRAY)

    assert [v.status for v in verdicts] == ["rejected", "accepted", "accepted", "duplicate"]
    assert verdicts[3].duplicate_of == 1
    assert verdicts[3].event_id == "lcs:ref-1"


def test_ndjson_lines_are_events_and_a_bad_line_is_only_that_event_rejected() -> None:
    body = b"\r\n".join(
        [REFERRAL.model_dump_json().encode(), b"", b"{not json", b"   ", AGREEMENT.model_dump_json().encode(), b""]
    )
    verdicts = read_batch(body, NDJSON)

    assert [v.status for v in verdicts] == ["accepted", "rejected", "accepted"]
    assert [v.index for v in verdicts] == [0, 1, 2]  # blank lines are not counted
    assert verdicts[1].raw == b"{not json"
    assert isinstance(verdicts[1].result, Rejection) and verdicts[1].result.code == "invalid_json"
    assert verdicts[2].result == AGREEMENT


@pytest.mark.parametrize(
    ("body", "media_type", "says"),
    [
        (REFERRAL.model_dump_json().encode(), JSON_ARRAY, "not an object; wrap a single event in [ ]"),
        (b"[{", JSON_ARRAY, "not valid JSON"),
        (b"[]", JSON_ARRAY, "holds no events"),
        (b"", JSON_ARRAY, "not valid JSON"),
        (b"\n \r\n", NDJSON, "holds no events"),
        (b"[" * 100_000, JSON_ARRAY, "nested too deeply"),
        (b"\xff\xfe\xfd", JSON_ARRAY, "not valid JSON"),
    ],
)
def test_a_body_that_is_not_a_batch_is_refused_as_a_whole(body: bytes, media_type: str, says: str) -> None:
    with pytest.raises(BatchError, match=re.escape(says)):
        read_batch(body, media_type)


def test_a_rejected_event_id_is_echoed_only_when_it_is_shaped_like_an_id() -> None:
    prose = doc(REFERRAL, event_id="Jane Smith, 4 High Street", referral_source="99")
    number = doc(REFERRAL, event_id=12345)
    verdicts = read_batch(array(prose, number), JSON_ARRAY)
    assert [v.status for v in verdicts] == ["rejected", "rejected"]
    assert [v.event_id for v in verdicts] == [None, None]


def test_an_event_too_large_for_a_dead_letter_record_is_refused_without_its_bytes() -> None:
    huge = doc(REFERRAL, padding="x" * MAX_EVENT_BYTES)
    verdicts = read_batch(array(huge, doc(REFERRAL)), JSON_ARRAY)
    assert [v.status for v in verdicts] == ["rejected", "accepted"]
    assert verdicts[0].raw is None
    assert isinstance(verdicts[0].result, Rejection) and verdicts[0].result.code == "too_large"
