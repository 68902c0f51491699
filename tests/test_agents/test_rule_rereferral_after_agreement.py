"""rereferral_after_agreement: a referral within the window after a written agreement."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, agreement, check, closure, plan, referral, row, run_live

RULE = "rereferral_after_agreement"

ROWS = [
    row("referral 4 months after the agreement", [agreement("2024-01-10"), referral("2024-05-02")], None,
        [("2024-05-02",)]),
    row("referral on the agreement's day is not after it", [agreement("2024-01-10"), referral("2024-01-10")], None,
        []),
    row("referral exactly 12 months later is within", [agreement("2024-01-10"), referral("2025-01-10")], None,
        [("2025-01-10",)]),
    row("referral 12 months and a day later is not", [agreement("2024-01-10"), referral("2025-01-11")], None, []),
    row("29 February plus 12 months is 28 February", [agreement("2024-02-29"), referral("2025-02-28")], None,
        [("2025-02-28",)]),
    row("referral before the agreement only", [referral("2024-01-05"), agreement("2024-01-10")], None, []),
    row("late agreement (arrives after the referral)", [referral("2024-05-02"), agreement("2024-01-10")], None,
        [("2024-05-02",)]),
    row("duplicate events raise one alert", [agreement("2024-01-10"), referral("2024-05-02"),
                                             agreement("2024-01-10"), referral("2024-05-02")], None,
        [("2024-05-02",)]),
    row("two referrals on one day count once (DfE)", [agreement("2024-01-10"), referral("2024-05-02", id="r-a"),
                                                      referral("2024-05-02", id="r-b")], None, [("2024-05-02",)]),
    row("each referral in the window", [agreement("2024-01-10"), referral("2024-03-01"), closure("2024-04-01"),
                                        referral("2024-09-01")], None, [("2024-03-01",), ("2024-09-01",)]),
    row("a referral on the open case is not one", [agreement("2024-01-10"), referral("2024-03-01"),
                                                  referral("2024-09-01")], None, [("2024-03-01",)]),
    row("the closure arrives after both referrals", [agreement("2024-01-10"), referral("2024-03-01"),
                                                    referral("2024-09-01"), closure("2024-04-01")], None,
        [("2024-03-01",), ("2024-09-01",)]),
    row("a 6-month window", [agreement("2024-01-10"), referral("2024-05-02"), closure("2024-06-01"),
                             referral("2024-09-01")], None,
        [("2024-05-02",)], config=RulesConfig().with_params(RULE, window_months=6)),
    row("disabled", [agreement("2024-01-10"), referral("2024-05-02")], None, [],
        config=RulesConfig().with_params(RULE, enabled=False)),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_names_the_agreement_and_is_same_day_when_it_came_with_a_closure() -> None:
    closing = agreement("2024-01-10", closure=True)
    [alert] = [a for a in run_live([closing, referral("2024-05-02")], None, RulesConfig()) if a.rule == RULE]
    assert (alert.severity, alert.delivery) == ("medium", "immediate")
    assert alert.event_ids == [closing.event_id, "referral:C1:2024-05-02"]
    assert alert.facts["days_between"] == 113
    assert "2024-05-02" in alert.explanation and "wa1" in alert.explanation


def test_a_late_review_updates_the_same_alert() -> None:
    steps = [agreement("2024-01-10"), referral("2024-05-02"), agreement("2024-03-01", "reviewed")]
    alerts = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert [a.facts["agreement_reviewed"] for a in alerts] == [False, True]
    assert len({a.alert_id for a in alerts}) == 1


def test_an_agreement_open_at_the_closure_is_derived_as_accompanying_it() -> None:
    steps = [referral("2024-01-02"), agreement("2024-01-10"), closure("2024-02-01"), referral("2024-05-02")]
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    facts = alert.facts
    assert (facts["accompanied_closure"], facts["closed_on"], alert.delivery) == (True, "2024-02-01", "immediate")
    assert alert.facts["is_dfe_rereferral"] is True  # 2 January and 2 May: within 12 months


def test_an_agreement_ended_before_the_closure_did_not_accompany_it() -> None:
    steps = [referral("2024-01-02"), agreement("2024-01-10"), agreement("2024-01-20", "ended"),
             closure("2024-02-01"), referral("2024-05-02")]  # fmt: skip
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert (alert.facts["accompanied_closure"], alert.delivery) == (False, "worklist")


@pytest.mark.parametrize(
    ("history", "severity"),
    [
        ([], "medium"),
        ([plan("2023-06-01", plan="old")], "high"),  # an earlier child protection plan
        # the third referral in 12 months
        ([referral("2023-07-01"), closure("2023-08-01"), referral("2023-10-01"), closure("2023-11-01")], "high"),
        ([referral("2023-07-01"), closure("2023-08-01")], "medium"),  # one earlier referral: a re-referral only
    ],
)
def test_severity_comes_from_the_case_history(history: list, severity: str) -> None:  # type: ignore[type-arg]
    steps = [*history, agreement("2024-01-10"), referral("2024-05-02")]
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert alert.severity == severity


def test_an_earlier_plan_arriving_late_updates_the_severity_as_replay_has_it() -> None:
    steps = [agreement("2024-01-10"), referral("2024-05-02"), plan("2023-06-01", plan="old")]
    alerts = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert [a.severity for a in alerts] == ["medium", "high"]
    assert len({a.alert_id for a in alerts}) == 1
