from datetime import date

import pytest

from agents.calendar import add_months, within_months_after
from agents.engine import apply
from agents.rules import RulesConfig
from agents.state import ChildState
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
