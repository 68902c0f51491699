"""Per-child state: JSON round trip, size, horizon; the engine's stale events and clock."""

import json
from datetime import UTC, date, datetime

from agents.engine import apply, next_due, tick
from agents.replay import replay
from agents.rules import RulesConfig
from agents.state import ChildState
from streams.simulate import SimulationSpec, simulate
from tests.test_agents.rows import agreement, assessment, contact, outcome, plan, referral, section47, strategy

RICH = [
    contact("2024-01-01", "19C"),
    referral("2024-01-02", "19C", "3A"),
    strategy("2024-01-03"),
    section47("2024-01-04"),
    assessment("2024-01-20", "16A", views=False),
    plan("2024-01-25", categories=["SAB"], outcomes=[outcome("o1", owner=False)]),
    agreement("2024-02-01", review_due="2024-03-01", closure=True),
    agreement("2024-03-05", "reviewed", review_due="2024-06-01"),
    agreement("2024-04-01", "breached"),
    agreement("2024-09-01", "ended"),
]


def test_a_state_round_trips_through_json_text() -> None:
    state = ChildState()
    for event in RICH:
        apply(state, event, RulesConfig())
    tick(state, "C1", datetime(2024, 12, 1, tzinfo=UTC), RulesConfig())
    assert state.emitted and state.plans and state.concerns and state.enquiries
    assert ChildState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_the_order_of_events_does_not_change_the_state() -> None:
    forward, backward = ChildState(), ChildState()
    for event in RICH:
        apply(forward, event, RulesConfig())
    for event in reversed(RICH):
        apply(backward, event, RulesConfig())
    for state in (forward, backward):
        # The next due day may be early (a deadline since settled), never late.
        exact = next_due(state, "C1", RulesConfig())
        assert state.due is not None and exact is not None and state.due <= exact
        state.emitted, state.due = {}, None  # what was emitted, and when to look, depend on order; facts must not
    assert forward.to_dict() == backward.to_dict()


def test_a_typical_child_state_stays_under_2_kb() -> None:
    result = replay(simulate(SimulationSpec(children=400, seed=3)), RulesConfig())
    sizes = sorted(len(json.dumps(s.to_dict(), separators=(",", ":"))) for s in result.states.values())
    assert sizes[len(sizes) // 2] < 1024, sizes[len(sizes) // 2]
    assert sizes[int(len(sizes) * 0.9)] < 2048, sizes[int(len(sizes) * 0.9)]


def test_an_event_older_than_the_horizon_is_stale_and_changes_nothing() -> None:
    state = ChildState()
    apply(state, referral("2026-06-15"), RulesConfig())
    before = state.to_dict()
    outcome = apply(state, agreement("2024-05-31"), RulesConfig())  # before 1 June 2024: 24 whole months back
    assert outcome.stale and outcome.alerts == [] and state.to_dict() == before
    assert not apply(state, agreement("2024-06-01", agreement="wa2"), RulesConfig()).stale


def test_facts_older_than_the_horizon_are_forgotten() -> None:
    state = ChildState()
    for event in RICH:
        apply(state, event, RulesConfig())
    apply(state, referral("2026-08-31", id="later"), RulesConfig())
    assert "wa1" in state.agreements  # it ended on 2024-09-01, inside the 24 whole months
    apply(state, referral("2026-10-01", id="much-later"), RulesConfig())
    assert list(state.referrals) == [date(2026, 8, 31), date(2026, 10, 1)]
    assert not (state.agreements or state.assessments or state.concerns or state.plans or state.emitted)


def test_the_next_due_day_is_the_first_deadline_not_yet_raised() -> None:
    state = ChildState()
    apply(state, agreement("2024-02-01", review_due="2024-03-01"), RulesConfig())
    assert state.due == date(2024, 3, 9)  # review date + 7 days' grace, plus one
    apply(state, agreement("2024-02-10", "breached"), RulesConfig())
    assert state.due == date(2024, 2, 21)  # breach + 10 days, plus one
    assert tick(state, "C1", datetime(2024, 2, 21, tzinfo=UTC), RulesConfig()).alerts
    assert state.due == date(2024, 3, 9)
    assert tick(state, "C1", datetime(2024, 2, 22, tzinfo=UTC), RulesConfig()).alerts == []
    tick(state, "C1", datetime(2024, 3, 9, tzinfo=UTC), RulesConfig())
    assert state.due is None and next_due(state, "C1", RulesConfig()) is None


def test_replay_stops_the_clock_at_as_of_and_leaves_later_events_out() -> None:
    events = [agreement("2024-02-01", review_due="2024-03-01"), agreement("2024-06-01", "reviewed")]
    assert replay(events, RulesConfig(), as_of=date(2024, 3, 8)).alerts == {}
    result = replay(events, RulesConfig(), as_of=date(2024, 3, 9))
    assert [a.rule for a in result.alerts.values()] == ["agreement_review_overdue"]
    assert result.after_as_of == 1 and result.now == date(2024, 3, 9)
    assert replay(events, RulesConfig()).now == date(2024, 6, 1)
