"""team_rereferral_rate_high: each month's figure for the QA report, and an alert only on a change."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from agents.engine import apply, apply_team_fact, tick_team
from agents.rules import RulesConfig
from agents.rules.team_rereferral_rate_high import judged_through, rates, upper_control_limit
from agents.state import ChildState, TeamFact, TeamState
from schemas.events import CaseClosure
from tests.test_agents.rows import TEAM, Tick, _base, agreement, expect, referral, run_live, run_replay

RULE = "team_rereferral_rate_high"
START = date(2023, 1, 1)
# With no control-limit margin the limit is the comparator itself: small, readable rows.
PLAIN = RulesConfig().with_params(RULE, control_sigmas=0.0)


def team_year(rereferred: int) -> list:  # type: ignore[type-arg]
    """20 children referred through 2023 (the first on 1 January), `rereferred` of them again 60 days later."""
    events = []
    for i in range(20):
        first = START + timedelta(days=15 * i)
        events.append(referral(first.isoformat(), child=f"C{i:02d}"))
        if 10 <= i < 10 + rereferred:
            events.append(referral((first + timedelta(days=60)).isoformat(), child=f"C{i:02d}"))
    return events


def until(day: str) -> list:  # type: ignore[type-arg]
    """A referral of another child on `day`: the team's event time reaches it (it counts in its own month)."""
    return [referral(day, child="CZ")]


SIX = team_year(6)  # 6 of 26 referrals in 2023 were re-referrals: 23.1%
FIVE = team_year(5)  # 5 of 25: 20.0%
DECEMBER = expect(RULE, ("2023-12",), child=TEAM)


def team_alerts(steps: list, now: str, config: RulesConfig) -> dict:  # type: ignore[type-arg]
    live = {a.alert_id: a for a in run_live(steps, now, config) if a.rule == RULE}
    replayed = {a.alert_id: a for a in run_replay(steps, now, config) if a.rule == RULE}
    assert live == replayed
    return live


@pytest.mark.parametrize(
    ("steps", "now", "expected", "config"),
    [
        pytest.param(SIX + until("2024-01-08"), "2024-01-08", DECEMBER, PLAIN, id="December judged a week after"),
        pytest.param(SIX + until("2024-01-07"), "2024-01-08", set(), PLAIN, id="not before the month has settled"),
        pytest.param(SIX, "2024-01-08", set(), PLAIN, id="not before the team's event time has passed it"),
        pytest.param(FIVE + until("2024-01-08"), "2024-01-08", DECEMBER, PLAIN, id="a month below is reported too"),
        pytest.param((SIX + until("2024-01-08"))[::-1], "2024-01-08", DECEMBER, PLAIN, id="events in reverse order"),
        pytest.param(
            [e for e in SIX if e.day >= date(2023, 2, 1)] + until("2024-01-08"),
            "2024-01-08",
            set(),
            PLAIN,
            id="a period not wholly after the team's first fact is not judged",
        ),
        pytest.param(
            SIX + until("2024-01-08"), "2024-01-08", set(), PLAIN.with_params(RULE, min_referrals=30), id="too few"
        ),
        pytest.param(
            SIX + until("2024-01-08"), "2024-01-08", set(), PLAIN.with_params(RULE, enabled=False), id="disabled"
        ),
    ],
)
def test_rows(steps, now, expected, config) -> None:
    assert set(team_alerts(steps, now, config)) == expected


def test_a_month_is_a_report_finding_and_only_a_second_month_above_the_limit_is_a_change() -> None:
    # December 2023: 6 of 26 (23.1%); January 2024: 6 of 23 (26.1%); February: 6 of 22 (27.3%).
    found = team_alerts(SIX + until("2024-03-08"), "2024-03-08", PLAIN)
    by_month = {a.facts["month"]: a for a in found.values()}
    assert sorted(by_month) == ["2023-12", "2024-01", "2024-02"]
    assert [by_month[m].facts["change"] for m in sorted(by_month)] == [False, True, False]
    assert [by_month[m].delivery for m in sorted(by_month)] == ["report", "worklist", "report"]
    assert by_month["2024-01"].facts["rereferral_rate_percent"] == "26.1"


def test_with_the_default_control_limit_a_rate_just_above_the_comparator_is_no_change() -> None:
    found = team_alerts(SIX + until("2024-03-08"), "2024-03-08", RulesConfig())
    assert found and not any(a.facts["change"] for a in found.values())
    assert {a.delivery for a in found.values()} == {"report"}
    december = next(a for a in found.values() if a.facts["month"] == "2023-12")
    # 22.6% + 3 binomial standard errors at 26 referrals.
    assert december.facts["upper_control_limit_percent"] == "47.2"
    params = RulesConfig().params[RULE]
    assert upper_control_limit(params, 26) == pytest.approx(0.226 + 3 * (0.226 * 0.774 / 26) ** 0.5)  # type: ignore[arg-type]


def test_alert_gives_the_counts_the_rates_and_the_limit() -> None:
    steps = [*SIX, agreement("2023-03-01", child="C10"), agreement("2023-03-01", child="C01"), *until("2024-01-08")]
    [alert] = team_alerts(steps, "2024-01-08", PLAIN).values()
    assert alert.child_id is None and alert.team == TEAM and alert.link is None and alert.event_ids == []
    assert alert.facts["referrals"] == 26 and alert.facts["rereferrals"] == 6
    assert alert.facts["rereferral_rate_percent"] == "23.1" and alert.facts["comparator_percent"] == "22.6"
    assert (alert.facts["front_door_referrals"], alert.facts["front_door_rereferrals"]) == (26, 6)
    # C10 was referred again on 1 July 2023, within 12 months of its agreement; C01 was not.
    assert (alert.facts["agreements"], alert.facts["agreements_followed"]) == (2, 1)
    assert (alert.facts["period_start"], alert.facts["period_end"]) == ("2023-01-01", "2023-12-31")


def closure(day: str, team: str, child: str = "C1") -> CaseClosure:
    return CaseClosure(**_base("closure", day, None, child, team), reason="RC1")


def test_a_rereferral_counts_for_the_team_that_closed_the_previous_episode() -> None:
    config = RulesConfig()
    state = ChildState()
    facts = []
    # Front door "Team A" takes both referrals; "CIN East" closed the episode in between.
    for event in [referral("2023-01-10"), closure("2023-03-01", "CIN East"), referral("2023-06-01")]:
        facts += apply(state, event, config).team_facts
    teams: dict[str, TeamState] = {}
    for fact in facts:
        apply_team_fact(teams.setdefault(fact.team, TeamState()), fact, config)
    east = rates(teams["CIN East"], date(2023, 1, 1), date(2023, 12, 31))
    front = rates(teams[TEAM], date(2023, 1, 1), date(2023, 12, 31))
    assert (east.referrals, east.rereferrals, east.front_door_referrals) == (1, 1, 0)
    assert (front.referrals, front.rereferrals, front.front_door_referrals, front.front_door_rereferrals) == (
        1,
        0,
        2,
        1,
    )


def test_a_late_closure_moves_the_rereferral_to_the_closing_team_in_any_order() -> None:
    config = RulesConfig()
    events = [referral("2023-01-10"), closure("2023-03-01", "CIN East"), referral("2023-06-01")]
    for order in (events, events[::-1], [events[0], events[2], events[1]]):
        state, teams = ChildState(), {}  # type: ignore[var-annotated]
        for event in order:
            for fact in apply(state, event, config).team_facts:
                apply_team_fact(teams.setdefault(fact.team, TeamState()), fact, config)
        counts = {team: t.counts for team, t in teams.items()}
        assert counts == {
            "CIN East": {"2023-06:r": 1, "2023-06:rr": 1},
            TEAM: {"2023-01:r": 1, "2023-01:fr": 1, "2023-06:fr": 1, "2023-06:frr": 1},
        }, order


def test_a_change_sent_again_with_its_stamp_is_counted_once() -> None:
    config = RulesConfig()
    state = TeamState()
    fact = TeamFact(TEAM, date(2023, 1, 10), {"2023-01:r": 1, "2023-01:fr": 1}, source="referrals:0", offset=7)
    later = TeamFact(TEAM, date(2023, 1, 11), {"2023-01:r": 1}, source="referrals:0", offset=9)
    for sent in (fact, fact, later, fact, later):  # redelivered after a crash: the same stamps again
        apply_team_fact(state, TeamFact.decode(json.loads(sent.encode())), config)
    assert state.counts == {"2023-01:r": 2, "2023-01:fr": 1}
    assert state.seen == {"referrals:0": (9, 0)}


def test_a_child_handled_twice_sends_nothing_the_second_time() -> None:
    config = RulesConfig()
    state = ChildState()
    first = apply(state, referral("2023-01-10"), config).team_facts
    again = apply(ChildState.from_dict(json.loads(json.dumps(state.to_dict()))), referral("2023-01-10"), config)
    assert first and again.team_facts == ()


def test_a_late_fact_has_a_judged_month_judged_again_under_the_same_alert_id() -> None:
    late = referral("2023-12-20", child="C19")  # C19 first referred 12 October: a re-referral in December
    on_time = team_alerts(FIVE + until("2024-01-08"), "2024-01-08", PLAIN)
    steps = [*FIVE, *until("2024-01-08"), Tick("2024-01-08"), late]
    live = [a for a in run_live(steps, "2024-01-09", PLAIN) if a.rule == RULE]
    assert [a.alert_id for a in live] == [*on_time, *on_time]  # raised, then updated
    assert (live[0].facts["rereferrals"], live[1].facts["rereferrals"]) == (5, 6)
    assert live[-1] == team_alerts([*FIVE, *until("2024-01-08"), late], "2024-01-09", PLAIN)[live[0].alert_id]


def test_the_team_state_stays_the_same_size_whatever_the_number_of_children() -> None:
    def size(children: int) -> int:
        config, teams = RulesConfig(), TeamState()
        for i in range(children):
            state = ChildState()
            for day in ("2023-01-10", "2023-05-10"):
                for fact in apply(state, referral(day, child=f"C{i:05d}"), config).team_facts:
                    apply_team_fact(teams, fact, config)
        return len(json.dumps(teams.to_dict()))

    # Six counters, each a digit longer at ten times the children: nothing grows per referral.
    assert size(2000) <= size(200) + 6
    assert size(200) < 400


def test_every_month_is_judged_once_when_the_clock_runs_late() -> None:
    once = set(team_alerts(SIX + until("2024-01-08"), "2024-01-08", PLAIN))
    later = [a for a in run_live(SIX + until("2024-12-31"), "2024-12-31", PLAIN) if a.rule == RULE]
    months = [a.facts["month"] for a in later]
    assert once < {a.alert_id for a in later}
    assert months == sorted(set(months)) and months[0] == "2023-12"


def test_rates_count_whole_months_and_follow_ups_only_up_to_the_period_end() -> None:
    state = TeamState(counts={"2023-02:r": 1, "2023-03:r": 2, "2023-03:rr": 1, "2023-01:a": 1, "2023-01:f:2023-03": 1,
                              "2023-02:a": 1})  # fmt: skip
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


def test_no_team_tick_before_the_event_time_has_come() -> None:
    state = TeamState()
    for fact in [
        TeamFact(TEAM, date(2023, 1, 10), {"2023-01:r": 1}),
        TeamFact(TEAM, date(2023, 12, 20), {"2023-12:r": 1}),
    ]:
        apply_team_fact(state, fact, PLAIN)
    assert state.due is None  # December is over by the wall clock, not by the team's event time
    assert tick_team(state, TEAM, datetime(2024, 6, 1, tzinfo=UTC), PLAIN) == []
    assert state.evaluated is None or state.evaluated < date(2023, 12, 1)


def test_team_state_round_trips_through_json() -> None:
    state = TeamState(
        counts={"2023-02:r": 3, "2023-01:f:2023-02": 1},
        seen={"referrals:1": (12, 2)},
        emitted={"a" * 32: ("f" * 12, date(2023, 12, 31))},
        since=date(2023, 1, 1),
        latest=date(2023, 2, 1),
        evaluated=date(2023, 12, 1),
        rejudge=date(2023, 11, 1),
        due=date(2024, 1, 8),
    )
    assert TeamState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_a_team_that_only_closes_cases_is_not_judged_on_its_attributed_rereferrals() -> None:
    # 20 children each referred twice at the front door, CIN East closing every first episode:
    # all 20 re-referrals are attributed to CIN East, whose attributed "rate" would read 100%.
    steps = []
    for i in range(20):
        first = START + timedelta(days=10 * i)
        steps += [referral(first.isoformat(), child=f"K{i:02d}"),
                  closure((first + timedelta(days=20)).isoformat(), "CIN East", child=f"K{i:02d}"),
                  referral((first + timedelta(days=40)).isoformat(), child=f"K{i:02d}")]  # fmt: skip
    found = team_alerts([*steps, *until("2024-03-08")], "2024-03-08", PLAIN)
    assert found and {a.team for a in found.values()} == {TEAM}
    front = next(a for a in found.values() if a.facts["month"] == "2024-01")
    # February 2023 to January 2024: 16 first referrals (those from 1 February) and all 20 second ones.
    assert (front.facts["front_door_referrals"], front.facts["front_door_rereferrals"]) == (36, 20)
    assert front.facts["change"] is True  # 55.6% at the front door, above the limit two months running
