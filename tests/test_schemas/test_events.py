import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.events import Assessment, Plan, Referral, WrittenAgreement, parse_event

BASE = {
    "event_id": "lcs:1",
    "child_id": "C1",
    "occurred_at": "2024-05-02T10:00:00Z",
    "recorded_at": "2024-05-02T11:00:00Z",
    "team": "CIN East",
    "source": "lcs",
}


def test_parse_picks_the_type_from_event_type() -> None:
    event = parse_event(json.dumps(BASE | {"event_type": "referral", "referral_source": "1A"}))
    assert isinstance(event, Referral)
    assert event.day.isoformat() == "2024-05-02"


def test_naive_times_are_taken_as_utc() -> None:
    event = parse_event(BASE | {"event_type": "referral", "occurred_at": "2024-05-02T10:00:00"})
    assert event.occurred_at == datetime(2024, 5, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Jane Doe"}, "Extra inputs are not permitted"),
        ({"upn": "A123456789012"}, "Extra inputs are not permitted"),
        ({"child_id": "Jane Doe, 12 High St"}, "should match pattern"),
        ({"referral_source": "ZZ"}, "unknown referral source code"),
        ({"occurred_at": "2024-06-01T00:00:00Z"}, "occurred_at is after recorded_at"),
        ({"occurred_at": "1850-01-01T00:00:00Z"}, "before 1900"),
        ({"team": "x" * 80}, "should match pattern"),
    ],
)
def test_personal_data_free_text_and_impossible_values_are_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_event(BASE | {"event_type": "referral"} | change)


def test_assessment_factors_are_checked_and_21_stands_alone() -> None:
    with pytest.raises(ValidationError, match="unknown assessment factor"):
        Assessment.model_validate(BASE | {"assessment_id": "a1", "factors": ["99Z"]})
    with pytest.raises(ValidationError, match="cannot be combined"):
        Assessment.model_validate(BASE | {"assessment_id": "a1", "factors": ["21", "16A"]})
    assert Assessment.model_validate(BASE | {"assessment_id": "a1", "factors": ["19C", "16A", "16A"]}).factors == [
        "16A",
        "19C",
    ]


def test_agreement_review_due_cannot_precede_the_agreement() -> None:
    with pytest.raises(ValidationError, match="review_due is before"):
        WrittenAgreement.model_validate(BASE | {"agreement_id": "A", "action": "made", "review_due": "2024-04-01"})


def test_plan_categories_are_cin_codes() -> None:
    with pytest.raises(ValidationError, match="unknown category of abuse"):
        Plan.model_validate(BASE | {"plan_id": "p", "plan_type": "cp", "action": "started", "categories": ["XXX"]})


@pytest.mark.parametrize("name", ["Jane Smith", "Jane", "Bo"])
@pytest.mark.parametrize("field", ["referral_source", "primary_need"])
def test_a_name_typed_into_a_code_field_is_not_echoed(field: str, name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event(BASE | {"event_type": "referral", field: name})
    assert name not in str(caught.value.errors(include_input=False))
    assert "(not a code)" in str(caught.value)


def test_an_unknown_value_with_a_codes_shape_is_named_in_the_reason() -> None:
    with pytest.raises(ValidationError, match="unknown referral source code '11Z'"):
        parse_event(BASE | {"event_type": "referral", "referral_source": "11Z"})
