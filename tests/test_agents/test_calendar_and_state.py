import json
from datetime import date

import pytest

from agents.calendar import add_months, within_months_after
from agents.engine import apply
from agents.rules import RulesConfig
from agents.state import ChildState, TeamState
from tests.test_agents.events import agreement, referral


@pytest.mark.parametrize(
    ("day", "months", "result"),
    [
        ("2024-01-31", 1, "2024-02-29"),
        ("2023-01-31", 1, "2023-02-28"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2024-05-02", -12, "2023-05-02"),
        ("2024-12-15", 1, "2025-01-15"),
        ("2024-03-31", -1, "2024-02-29"),
    ],
)
def test_add_months_clamps_to_month_end(day: str, months: int, result: str) -> None:
    assert add_months(date.fromisoformat(day), months) == date.fromisoformat(result)


def test_window_is_exclusive_at_start_and_inclusive_at_end() -> None:
    start = date(2024, 1, 10)
    assert not within_months_after(start, start, 12)
    assert within_months_after(start, date(2025, 1, 10), 12)
    assert not within_months_after(start, date(2025, 1, 11), 12)


def test_state_round_trips_through_json_types() -> None:
    state = ChildState()
    for event in (
        agreement("2024-01-10", "A", closure=True),
        agreement("2024-02-10", "A", action="reviewed"),
        agreement("2024-03-10", "A", action="breached"),
        agreement("2024-04-10", "A", action="ended"),
        referral("2024-05-02"),
    ):
        apply(state, event, RulesConfig())
    data = state.to_dict()
    assert ChildState.from_dict(data) == state
    assert ChildState.from_dict(None) == ChildState()


# A child's record as the changelog holds it (every part filled): records written before
# the state objects took slots must load, and write back the same bytes.
CHANGELOG_RECORD = {
    "referrals": {"2024-05-02": ["e1", "T1", 2], "2024-06-01": ["e2", "T2"]},
    "agreements": {
        "A": {
            "made": "2024-01-10", "made_event_id": "e3", "team": "T1", "review_due": "2024-02-10",
            "accompanies_closure": True, "reviews": {"2024-02-10": "2024-03-10"},
            "breaches": {"2024-03-10": "e4"}, "ended": None,
        }
    },
    "assessments": {"S1": ["2024-05-10", "e5", "T1", ["1A", "2B"], "2024-05-03"], "S2": ["2024-06-10", "e6", "T2", []]},
    "concerns": {"e1": ["2024-05-02", "referral", ["N1"]]},
    "enquiries": {"Q1": ["2024-05-04", "e7"]},
    "plans": {
        "P1": ["cp", "2024-05-20", "2024-06-20", "e8", "T1", ["N2"], None, 1],
        "P2": ["cin", "2024-05-21", "2024-05-21", "e9", "T1", []],
    },
    "strategy_discussions": {"2024-05-03": "e10"},
    "closures": {"2024-07-01": ["e11", "T2"]},
    "contacts": {"2024-04-30": "e12"},
    "meetings": {"2024-05-20": "e8"},
    "reported": {"r:2024-05-02": [["T1", "2024-05:r"], ["T1", "2024-05:fr"]]},
    "emitted": {"alert-1": ["fp", "2024-05-02"]},
    "latest": "2024-07-01",
    "due": "2024-08-01",
}  # fmt: skip


def test_a_changelog_record_loads_and_is_written_back_unchanged() -> None:
    state = ChildState.from_dict(json.loads(json.dumps(CHANGELOG_RECORD)))
    assert json.dumps(state.to_dict(), sort_keys=True) == json.dumps(CHANGELOG_RECORD, sort_keys=True)


def test_a_walking_skeleton_agreement_still_loads() -> None:
    old = {"made": "2024-01-10", "made_event_id": "e3", "reviews": ["2024-02-10"], "breaches": ["2024-03-10"]}
    old = {"agreements": {"A": old}}
    record = ChildState.from_dict(old).agreements["A"]
    assert record.reviews == {date(2024, 2, 10): None} and record.breaches == {date(2024, 3, 10): "e3"}


def test_state_objects_carry_no_per_instance_dict() -> None:
    """Slots: a dict per record cost a few hundred bytes a child (benchmarks/memory.py)."""
    state = ChildState.from_dict(CHANGELOG_RECORD)
    records = [state, *state.referrals.values(), *state.agreements.values(), *state.assessments.values(),
               *state.concerns.values(), *state.plans.values(), TeamState()]  # fmt: skip
    assert not any(hasattr(record, "__dict__") for record in records)
