"""team_rereferral_rate_high: a team's rolling 12-month re-referral rate above the threshold."""

from datetime import date, timedelta

import pytest

from agents.rules import RulesConfig
from agents.rules.team_rereferral_rate_high import judged_through, rates
from agents.state import TeamState
from tests.test_agents.rows import TEAM, agreement, expect, referral, run_live, run_replay

RULE = "team_rereferral_rate_high"
START = date(2023, 1, 1)


def team_year(rereferred: int) -> list:  # type: ignore[type-arg]
    """20 children referred through 2023 (the first on 1 January), `rereferred` of them again 60 days later."""
    events = []
    for i in range(20):
        first = START + timedelta(days=15 * i)
        events.append(referral(first.isoformat(), child=f"C{i:02d}"))
        if 10 <= i < 10 + rereferred:
            events.append(referral((first + timedelta(days=60)).isoformat(), child=f"C{i:02d}"))
    return events


SIX = team_year(6)  # 6 of 26 referrals in 2023 were re-referrals: 23.1%
FIVE = team_year(5)  # 5 of 25: 20.0%
DECEMBER = expect(RULE, ("2023-12",), child=TEAM)


@pytest.mark.parametrize(
    ("steps", "now", "expected", "config"),
    [
        pytest.param(SIX, "2024-01-08", DECEMBER, None, id="23.1% is above 22.6%: December judged a week after"),
        pytest.param(SIX, "2024-01-07", set(), None, id="not before the month has settled"),
        pytest.param(FIVE, "2024-01-08", set(), None, id="20.0% is not"),
        pytest.param(SIX[::-1], "2024-01-08", DECEMBER, None, id="events in reverse order"),
        pytest.param(SIX + SIX, "2024-01-08", DECEMBER, None, id="every event twice"),
        pytest.param(
            [e for e in SIX if e.day >= date(2023, 2, 1)],
            "2024-01-08",
            set(),
            None,
            id="a period not wholly after the team's first fact is not judged",
        ),
        pytest.param(SIX, "2024-01-08", set(), RulesConfig().with_params(RULE, threshold=0.25), id="threshold 25%"),
        pytest.param(SIX, "2024-01-08", set(), RulesConfig().with_params(RULE, min_referrals=30), id="too few"),
        pytest.param(SIX, "2024-01-08", set(), RulesConfig().with_params(RULE, enabled=False), id="disabled"),
    ],
)
def test_rows(steps, now, expected, config) -> None:
    config = config or RulesConfig()
    assert {a.alert_id for a in run_live(steps, now, config) if a.rule == RULE} == expected
    assert {a.alert_id for a in run_replay(steps, now, config) if a.rule == RULE} == expected


def test_alert_gives_the_counts_the_rates_and_the_threshold() -> None:
    steps = [*SIX, agreement("2023-03-01", child="C10"), agreement("2023-03-01", child="C01")]
    [alert] = [a for a in run_live(steps, "2024-01-08", RulesConfig()) if a.rule == RULE]
    assert alert.child_id is None and alert.team == TEAM and alert.link is None and alert.event_ids == []
    assert alert.facts["referrals"] == 26 and alert.facts["rereferrals"] == 6
    assert alert.facts["rereferral_rate_percent"] == "23.1" and alert.facts["threshold_percent"] == "22.6"
    # C10 was referred again on 1 July 2023, within 12 months of its agreement; C01 was not.
    assert (alert.facts["agreements"], alert.facts["agreements_followed"]) == (2, 1)
    assert (alert.facts["period_start"], alert.facts["period_end"]) == ("2023-01-01", "2023-12-31")


def test_every_month_is_judged_once_when_the_clock_runs_late() -> None:
    once = {a.alert_id for a in run_live(SIX, "2024-01-08", RulesConfig()) if a.rule == RULE}
    later = [a for a in run_live(SIX, "2024-12-31", RulesConfig()) if a.rule == RULE]
    months = [a.facts["month"] for a in later]
    assert once < {a.alert_id for a in later}
    assert months == sorted(set(months)) and months[0] == "2023-12"


def test_rates_count_a_child_and_day_once_and_follow_ups_only_up_to_the_period_end() -> None:
    state = TeamState(
        referrals={("C1", date(2023, 2, 1)): False, ("C1", date(2023, 3, 1)): True, ("C2", date(2023, 3, 1)): False},
        agreements={("C1", "w1"): (date(2023, 1, 15), date(2023, 3, 1)), ("C2", "w2"): (date(2023, 2, 1), None)},
    )
    figures = rates(state, date(2023, 1, 1), date(2023, 2, 28))
    assert (figures.referrals, figures.rereferrals, figures.agreements, figures.followed) == (1, 0, 2, 0)
    assert rates(state, date(2023, 1, 1), date(2023, 3, 31)).rereferral_rate == pytest.approx(1 / 3)
    assert rates(state, date(2023, 1, 1), date(2023, 3, 31)).agreement_rate == 0.5
    assert rates(state, date(2024, 1, 1), date(2024, 3, 31)).rereferral_rate is None


@pytest.mark.parametrize(
    ("today", "settle", "month"),
    [("2024-06-08", 7, "2024-05-01"), ("2024-06-07", 7, "2024-04-01"), ("2024-06-01", 0, "2024-05-01")],
)
def test_a_month_is_judged_once_it_is_over_and_settled(today: str, settle: int, month: str) -> None:
    params = RulesConfig().with_params(RULE, settle_days=settle).params[RULE]
    assert judged_through(date.fromisoformat(today), params) == date.fromisoformat(month)  # type: ignore[arg-type]


def test_team_state_round_trips_through_json() -> None:
    import json

    state = TeamState(
        referrals={("C1", date(2023, 2, 1)): True},
        agreements={("C1", "w:1"): (date(2023, 1, 15), None)},
        emitted={"a" * 32: ("f" * 12, date(2023, 12, 31))},
        since=date(2023, 1, 1),
        latest=date(2023, 2, 1),
        evaluated=date(2023, 12, 1),
        due=date(2024, 1, 8),
    )
    assert TeamState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
