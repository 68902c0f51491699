"""Table-driven tests of rereferral_after_agreement, through the engine both live and replay use."""

import itertools

import pytest

from agents.engine import apply
from agents.replay import replay
from agents.rules import RulesConfig
from agents.rules.base import alert_id
from agents.state import ChildState
from schemas.alerts import Alert
from schemas.events import CaseEvent
from tests.test_agents.events import agreement, closure, referral

RULE = "rereferral_after_agreement"
CONFIG = RulesConfig()


def run(events: list[CaseEvent], config: RulesConfig = CONFIG) -> dict[str, Alert]:
    """Apply events in arrival order, as the live agent does; the latest version of each alert."""
    states: dict[str, ChildState] = {}
    alerts: dict[str, Alert] = {}
    for event in events:
        outcome = apply(states.setdefault(event.child_id, ChildState()), event, config)
        alerts.update((a.alert_id, a) for a in outcome.alerts if a.rule == RULE)  # the other rules have their own tests
    return alerts


def expected(child: str, *referral_days: str) -> set[str]:
    return {alert_id(RULE, child, day) for day in referral_days}


CASES = [
    ("within window", [agreement("2024-01-10", "A"), referral("2024-05-02")], expected("C1", "2024-05-02")),
    ("no agreement", [referral("2024-01-02"), referral("2024-05-02")], set()),
    ("referral before agreement", [referral("2024-01-02"), agreement("2024-01-10", "A")], set()),
    ("same day is not after", [agreement("2024-05-02", "A"), referral("2024-05-02")], set()),
    (
        "boundary: exactly 12 months",
        [agreement("2023-05-02", "A"), referral("2024-05-02")],
        expected("C1", "2024-05-02"),
    ),
    ("boundary: a day past 12 months", [agreement("2023-05-01", "A"), referral("2024-05-02")], set()),
    (
        "29 Feb plus 12 months is 28 Feb",
        [agreement("2024-02-29", "A"), referral("2025-02-28")],
        expected("C1", "2025-02-28"),
    ),
    ("29 Feb window ends 28 Feb", [agreement("2024-02-29", "A"), referral("2025-03-01")], set()),
    (
        "review is not an agreement made",
        [agreement("2024-01-10", "A", action="reviewed"), referral("2024-05-02")],
        set(),
    ),
    (
        "two referrals after one agreement, the case closed between: one alert each",
        [agreement("2024-01-10", "A"), referral("2024-03-01"), closure("2024-04-01"), referral("2024-06-01")],
        expected("C1", "2024-03-01", "2024-06-01"),
    ),
    (
        "a referral while the case is open is not a referral: no alert",
        [agreement("2024-01-10", "A"), referral("2024-03-01"), referral("2024-06-01")],
        expected("C1", "2024-03-01"),
    ),
    (
        "a late closure turns the second referral into one",
        [agreement("2024-01-10", "A"), referral("2024-03-01"), referral("2024-06-01"), closure("2024-04-01")],
        expected("C1", "2024-03-01", "2024-06-01"),
    ),
    (
        "closed and referred again the same day: the closure comes first",
        [agreement("2024-01-10", "A"), referral("2024-03-01"), closure("2024-06-01"), referral("2024-06-01")],
        expected("C1", "2024-03-01", "2024-06-01"),
    ),
    (
        "two agreements before one referral: one alert",
        [agreement("2024-01-10", "A"), agreement("2024-02-10", "B"), referral("2024-05-02")],
        expected("C1", "2024-05-02"),
    ),
    (
        "out of order: agreement arrives after the referral it preceded",
        [referral("2024-05-02"), agreement("2024-01-10", "A")],
        expected("C1", "2024-05-02"),
    ),
    (
        "duplicates change nothing",
        [agreement("2024-01-10", "A"), referral("2024-05-02"), agreement("2024-01-10", "A"), referral("2024-05-02")],
        expected("C1", "2024-05-02"),
    ),
    (
        "two referrals on one day count once",
        [agreement("2024-01-10", "A"), referral("2024-05-02", event_id="r1"), referral("2024-05-02", event_id="r2")],
        expected("C1", "2024-05-02"),
    ),
    (
        "two children interleaved stay apart",
        [
            agreement("2024-01-10", "A", child="C1"),
            referral("2024-02-01", child="C2"),
            agreement("2024-01-20", "B", child="C2"),
            referral("2024-05-02", child="C1"),
            referral("2024-01-15", child="C3"),
        ],
        expected("C1", "2024-05-02") | expected("C2", "2024-02-01"),
    ),
]


@pytest.mark.parametrize(("events", "alert_ids"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_alert_ids(events: list[CaseEvent], alert_ids: set[str]) -> None:
    assert set(run(events)) == alert_ids
    assert {k for k, a in replay(events, CONFIG).alerts.items() if a.rule == RULE} == alert_ids


def test_alert_carries_what_a_manager_needs() -> None:
    (alert,) = run([agreement("2024-01-10", "A", closure=True), referral("2024-05-02")]).values()
    assert alert.rule == RULE
    assert alert.severity == "medium"  # agreement-at-closure is the common case: no history makes it high
    assert alert.delivery == "immediate"  # but the closure is where the review found the pattern: same day
    assert alert.team == "CIN East"  # the team that made the agreement
    assert alert.event_ids == ["wa-A-made-2024-01-10", "ref-C1-2024-05-02"]
    assert alert.facts == {
        "agreement_id": "A",
        "agreement_made": "2024-01-10",
        "referral_date": "2024-05-02",
        "referral_team": "Front Door",
        "days_between": 113,
        "agreements_in_window": 1,
        "agreement_reviewed": False,
        "accompanied_closure": True,
        "closed_on": "2024-01-10",
        "is_dfe_rereferral": False,
        "referrals_last_12_months": 0,
        "previous_cp_plans": 0,
        "window_months": 12,
    }


def test_latest_agreement_is_reported_with_the_count_before_the_referral() -> None:
    (alert,) = run(
        [
            agreement("2023-03-01", "old"),
            agreement("2024-01-10", "A"),
            agreement("2024-02-10", "B"),
            referral("2024-05-02"),
        ]
    ).values()
    assert alert.facts["agreement_id"] == "B"
    assert alert.facts["agreements_in_window"] == 2
    assert alert.severity == "high"  # over-reliance: two agreements in the window


def test_without_closure_or_repeat_the_severity_is_medium() -> None:
    (alert,) = run([agreement("2024-01-10", "A"), referral("2024-05-02")]).values()
    assert alert.severity == "medium"


def test_review_before_the_referral_counts_and_one_after_does_not() -> None:
    before = run(
        [agreement("2024-01-10", "A"), agreement("2024-03-01", "A", action="reviewed"), referral("2024-05-02")]
    )
    after = run([agreement("2024-01-10", "A"), referral("2024-05-02"), agreement("2024-06-01", "A", action="reviewed")])
    assert [a.facts["agreement_reviewed"] for a in before.values()] == [True]
    assert [a.facts["agreement_reviewed"] for a in after.values()] == [False]


def test_a_late_event_updates_the_same_alert_instead_of_raising_another() -> None:
    events = [agreement("2024-01-10", "A"), referral("2024-05-02"), agreement("2024-03-01", "B")]
    alerts = run(events)
    assert set(alerts) == expected("C1", "2024-05-02")
    assert alerts[next(iter(alerts))].facts["agreement_id"] == "B"


def test_every_arrival_order_gives_the_same_alerts_as_replay() -> None:
    events = [
        agreement("2024-01-10", "A", closure=True),
        agreement("2024-02-01", "A", action="reviewed"),
        referral("2024-03-01"),
        agreement("2024-04-01", "B"),
        closure("2024-06-01"),
        referral("2024-09-01"),
    ]
    reference = {k: a for k, a in replay(events, CONFIG).alerts.items() if a.rule == RULE}
    assert len(reference) == 2
    for order in itertools.permutations(events):
        assert run(list(order)) == reference


def test_window_is_configurable() -> None:
    events = [agreement("2024-01-10", "A"), referral("2024-05-02")]
    assert run(events, RulesConfig().with_params(RULE, window_months=3)) == {}
    assert set(run(events, RulesConfig().with_params(RULE, window_months=4))) == expected("C1", "2024-05-02")


def test_disabled_rule_raises_nothing() -> None:
    assert (
        run([agreement("2024-01-10", "A"), referral("2024-05-02")], RulesConfig().with_params(RULE, enabled=False))
        == {}
    )


def test_link_template_fills_in_the_child_id() -> None:
    config = RulesConfig(link_template="https://lcs.example/child/{child_id}")
    (alert,) = run([agreement("2024-01-10", "A"), referral("2024-05-02")], config).values()
    assert alert.link == "https://lcs.example/child/C1"


def test_events_older_than_the_horizon_are_stale_and_change_nothing() -> None:
    state = ChildState()
    apply(state, referral("2024-05-02"), CONFIG)
    outcome = apply(state, agreement("2021-01-10", "A"), CONFIG)
    assert outcome.stale
    assert outcome.alerts == []
    assert "A" not in outcome.state.agreements


def test_state_is_pruned_to_the_horizon() -> None:
    state = ChildState()
    for day in ("2020-01-01", "2021-01-01", "2022-06-01", "2024-06-01"):
        apply(state, referral(day), CONFIG)
    assert sorted(d.isoformat() for d in state.referrals) == ["2022-06-01", "2024-06-01"]
