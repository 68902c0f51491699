"""DfE re-referrals: R1 < R2 <= R1 + 12 calendar months, the same child and date once."""

from datetime import UTC, date, datetime

import pytest

from agents.stats import count_re_referrals, referral_stats
from schemas.events import CaseClosure, Referral


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([], 0),
        (["2024-01-10"], 0),
        (["2024-01-10", "2024-01-10"], 0),  # the same date twice is one referral
        (["2024-01-10", "2025-01-10"], 1),  # exactly 12 months later: within
        (["2024-01-10", "2025-01-11"], 0),  # a day more: not
        (["2024-02-29", "2025-02-28"], 1),  # 29 Feb + 12 months is 28 Feb
        (["2024-02-29", "2025-03-01"], 0),
        (["2023-03-31", "2023-09-30", "2024-03-30"], 2),  # each against the closest earlier one
        (["2023-01-01", "2024-06-01", "2024-06-02"], 1),
        (["2024-05-01", "2024-01-10"], 1),  # order of arrival does not matter
    ],
)
def test_re_referrals_follow_the_dfe_definition(days: list[str], expected: int) -> None:
    assert count_re_referrals(date.fromisoformat(d) for d in days) == expected


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_figures_over_events_count_children_referrals_and_the_rate() -> None:
    def referral(child: str, day: str, n: int) -> Referral:
        return Referral(event_id=f"r{n}", child_id=child, occurred_at=_at(day), recorded_at=_at(day), team="T",
                        source="test")  # fmt: skip

    events = [
        referral("C1", "2024-01-10", 1), referral("C1", "2024-01-10", 2), referral("C1", "2024-06-01", 3),
        referral("C2", "2024-01-10", 4), referral("C3", "2022-01-01", 5), referral("C3", "2024-01-01", 6),
        CaseClosure(event_id="c1", child_id="C4", occurred_at=_at("2024-02-01"), recorded_at=_at("2024-02-01"),
                    team="T", source="test", reason="RC8"),
    ]  # fmt: skip
    stats = referral_stats(events)
    assert stats.to_dict() == {"children": 4, "referrals": 5, "re_referrals": 1, "re_referral_rate": 0.2}
    assert referral_stats([]).to_dict()["re_referral_rate"] == 0.0
