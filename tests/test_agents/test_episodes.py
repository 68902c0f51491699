"""Episodes from referral and closure days: the same whatever order the events arrive in."""

import itertools
import json
from datetime import date

import pytest

from agents.engine import apply
from agents.episodes import closure_of, episodes_of
from agents.rules import RulesConfig
from agents.state import ChildState
from schemas.events import CaseEvent
from tests.test_agents.rows import agreement, assessment, closure, plan, referral

CONFIG = RulesConfig()
D = date.fromisoformat


def state_of(events: list[CaseEvent]) -> ChildState:
    state = ChildState()
    for event in events:
        apply(state, event, CONFIG)
    return state


@pytest.mark.parametrize(
    ("events", "episodes", "in_open"),
    [
        ([referral("2024-01-02")], [("2024-01-02", None)], {}),
        ([referral("2024-01-02"), closure("2024-02-01")], [("2024-01-02", "2024-02-01")], {}),
        ([referral("2024-01-02"), referral("2024-03-01")], [("2024-01-02", None)], {"2024-03-01": "2024-01-02"}),
        ([referral("2024-01-02"), closure("2024-02-01"), referral("2024-03-01")],
         [("2024-01-02", "2024-02-01"), ("2024-03-01", None)], {}),
        # a same-day NFA closure, then a referral later
        ([referral("2024-01-02"), closure("2024-01-02"), referral("2024-03-01")],
         [("2024-01-02", "2024-01-02"), ("2024-03-01", None)], {}),
        # closed and referred again the same day: the closure ends the first episode only
        ([referral("2024-01-02"), closure("2024-03-01"), referral("2024-03-01"), closure("2024-05-01")],
         [("2024-01-02", "2024-03-01"), ("2024-03-01", "2024-05-01")], {}),
        # a closure with no episode open before it closes nothing
        ([closure("2023-12-01"), referral("2024-01-02"), referral("2024-02-01")], [("2024-01-02", None)],
         {"2024-02-01": "2024-01-02"}),
    ],
)  # fmt: skip
def test_episodes_in_every_arrival_order(events: list[CaseEvent], episodes: list, in_open: dict) -> None:  # type: ignore[type-arg]
    for order in itertools.permutations(events):
        found = episodes_of(state_of(list(order)))
        assert [(e.start.isoformat(), e.closed and e.closed.isoformat()) for e in found.episodes] == episodes
        assert {d.isoformat(): s.isoformat() for d, s in found.in_open_episode.items()} == in_open


def test_an_agreement_open_at_the_closure_accompanied_it_and_one_ended_before_did_not() -> None:
    state = state_of([referral("2024-01-02"), agreement("2024-01-10"), agreement("2024-01-15", agreement="wa2"),
                      agreement("2024-01-20", "ended", agreement="wa2"), closure("2024-02-01")])  # fmt: skip
    assert closure_of(state, state.agreements["wa1"]) == D("2024-02-01")
    assert closure_of(state, state.agreements["wa2"]) is None


def test_the_source_flag_stands_where_no_closure_is_known() -> None:
    state = state_of([agreement("2024-01-10", closure=True), agreement("2024-02-10", agreement="wa2")])
    assert closure_of(state, state.agreements["wa1"]) == D("2024-01-10")
    assert closure_of(state, state.agreements["wa2"]) is None


def test_open_on_is_unknown_without_referrals() -> None:
    assert episodes_of(state_of([agreement("2024-01-10")])).open_on(D("2024-02-01")) is None
    known = episodes_of(state_of([referral("2024-01-02"), closure("2024-02-01")]))
    assert (known.open_on(D("2024-01-20")), known.open_on(D("2024-03-01"))) == (True, False)


def test_the_new_facts_round_trip_through_json() -> None:
    state = state_of([
        referral("2024-01-02"), closure("2024-02-01"), assessment("2024-01-20", "16A", started="2024-01-05"),
        plan("2024-01-10"), plan("2024-01-30", "ended"),
    ])  # fmt: skip
    back = ChildState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert back == state
    assert back.closures and back.meetings and back.assessments["a1"].began == D("2024-01-05")
    assert back.plans["p1"].ended == D("2024-01-30")
