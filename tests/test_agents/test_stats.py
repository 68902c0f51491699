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
    overall = {k: v for k, v in stats.to_dict().items() if k not in ("as_of", "periods")}
    assert overall == {"children": 4, "referrals": 5, "re_referrals": 1, "re_referral_rate": 0.2}
    assert referral_stats([]).to_dict()["re_referral_rate"] == 0.0


def _referral(child: str, day: str, *, nfa: bool | None = None, earlier: int | None = None) -> Referral:
    return Referral(event_id=f"{child}-{day}-{nfa}-{earlier}", child_id=child, occurred_at=_at(day),
                    recorded_at=_at(day), team="T", source="test", nfa=nfa,
                    referrals_last_12_months=earlier)  # fmt: skip


def test_each_reporting_year_runs_from_1_april_to_31_march_and_years_never_mix() -> None:
    events = [
        _referral("C1", "2023-03-31"), _referral("C1", "2023-04-01"),  # a re-referral in 2023-24, of a 2022-23 one
        _referral("C2", "2024-03-31"), _referral("C3", "2024-04-01"),
    ]  # fmt: skip
    stats = referral_stats(events, as_of=date(2024, 6, 30))
    years = {p.name: p for p in stats.periods if p.kind == "reporting_year"}
    assert list(years) == ["2022-23", "2023-24", "2024-25"]
    assert (years["2022-23"].first, years["2022-23"].last) == (date(2022, 4, 1), date(2023, 3, 31))
    assert [(p.total.referrals, p.total.re_referrals) for p in years.values()] == [(1, 0), (2, 1), (1, 0)]
    assert years["2023-24"].complete and not years["2024-25"].complete  # 2024-25 is to date
    assert not years["2023-24"].lookback_complete  # the data starts 2023-03-31: earlier referrals are unknown
    [rolling] = [p for p in stats.periods if p.kind == "rolling_12_months"]
    assert (rolling.name, rolling.first, rolling.last) == (
        "12 months to 2024-06-30",
        date(2023, 7, 1),
        date(2024, 6, 30),
    )
    assert (rolling.total.referrals, rolling.total.re_referrals) == (2, 0)


def test_a_source_saying_there_were_earlier_referrals_makes_a_re_referral_without_them_in_the_data() -> None:
    events = [_referral("C1", "2020-09-16", earlier=2), _referral("C2", "2020-09-16", earlier=0),
              _referral("C3", "2020-09-16")]  # fmt: skip
    stats = referral_stats(events)
    assert (stats.referrals, stats.re_referrals) == (3, 1)
    year = stats.periods[0]
    assert (year.name, year.total.re_referrals, year.from_history_only) == ("2020-21", 1, 1)


def test_nfa_referrals_are_counted_apart() -> None:
    events = [
        _referral("C1", "2024-05-01", nfa=True), _referral("C1", "2024-07-01", nfa=False),
        _referral("C1", "2024-07-01"),  # the same referral from a source without the flag: counted once, flag kept
        _referral("C2", "2024-05-01", nfa=False), _referral("C2", "2024-08-01", nfa=True),
        _referral("C3", "2024-05-01"),
    ]  # fmt: skip
    [year, _] = referral_stats(events).periods
    counts = {key: (c.referrals, c.re_referrals) for key, c in year.by_nfa.items()}
    assert counts == {"nfa": (2, 1), "not_nfa": (2, 1), "not_given": (1, 0)}
    assert (year.total.referrals, year.total.re_referrals) == (5, 2)
