"""rereferral_after_agreement: a referral within the window after a written agreement."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, agreement, check, referral, row, run_live

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
    row("each referral in the window", [agreement("2024-01-10"), referral("2024-03-01"), referral("2024-09-01")],
        None, [("2024-03-01",), ("2024-09-01",)]),
    row("a 6-month window", [agreement("2024-01-10"), referral("2024-05-02"), referral("2024-09-01")], None,
        [("2024-05-02",)], config=RulesConfig().with_params(RULE, window_months=6)),
    row("disabled", [agreement("2024-01-10"), referral("2024-05-02")], None, [],
        config=RulesConfig().with_params(RULE, enabled=False)),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_names_the_agreement_and_escalates_when_it_came_with_a_closure() -> None:
    closing = agreement("2024-01-10", closure=True)
    [alert] = [a for a in run_live([closing, referral("2024-05-02")], None, RulesConfig()) if a.rule == RULE]
    assert alert.severity == "high"
    assert alert.event_ids == [closing.event_id, "referral:C1:2024-05-02"]
    assert alert.facts["days_between"] == 113
    assert "2024-05-02" in alert.explanation and "wa1" in alert.explanation


def test_a_late_review_updates_the_same_alert() -> None:
    steps = [agreement("2024-01-10"), referral("2024-05-02"), agreement("2024-03-01", "reviewed")]
    alerts = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert [a.facts["agreement_reviewed"] for a in alerts] == [False, True]
    assert len({a.alert_id for a in alerts}) == 1
