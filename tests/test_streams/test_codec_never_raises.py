"""The codec answers every input with an event or a reason: nothing it is given makes it raise."""

import json
from datetime import UTC, datetime

import pytest

from schemas.events import Referral
from streams.codec import Rejection, decode_event, validate_event

T = datetime(2024, 3, 1, 9, tzinfo=UTC)
REFERRAL = Referral(event_id="lcs:ref-1", child_id="C1", occurred_at=T, recorded_at=T, team="Front Door", source="lcs")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * 100_000, "not valid JSON: nested too deeply"),
        (b'{"event_type": "referral", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "not valid JSON: nested too deeply"),
        (b"1" * 5000, "not valid JSON: a number too long to read"),
        (b"\xc3\x28", "not valid JSON: not UTF-8"),
        (b"{", "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ],
)
def test_hostile_bytes_are_rejected_not_raised(raw: bytes, reason: str) -> None:
    assert decode_event(raw) == Rejection("invalid_json", reason)


def test_validate_event_takes_a_parsed_object_and_agrees_with_decode_event() -> None:
    document = json.loads(REFERRAL.model_dump_json())
    assert validate_event(document) == REFERRAL == decode_event(REFERRAL.model_dump_json().encode())
    assert validate_event([document]) == Rejection("invalid_json", "not a JSON object")
    refused = validate_event({**document, "name": "Jane Smith"})
    assert isinstance(refused, Rejection) and refused.code == "schema"
    assert "Jane" not in refused.reason
