"""agreement_disproportionate_to_risk: an agreement where the episode shows high risk."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import (
    ROW_FIELDS,
    agreement,
    assessment,
    check,
    closure,
    plan,
    referral,
    row,
    run_live,
    section47,
)

RULE = "agreement_disproportionate_to_risk"
WA = ("wa1",)

ROWS = [
    row("sexual abuse factor before the agreement", [assessment("2024-01-05", "19C"), agreement("2024-02-01")], None,
        [WA]),
    row("each default high-risk factor", [assessment("2024-01-05", "16A", "24A"), agreement("2024-02-01")], None,
        [WA]),
    row("ordinary factors only", [assessment("2024-01-05", "16A", "4B"), agreement("2024-02-01")], None, []),
    row("domestic abuse 3A-3C is high risk", [assessment("2024-01-05", "3B"), agreement("2024-02-01")], None, [WA]),
    row("factor exactly 12 months before counts", [assessment("2023-02-01", "18C"), agreement("2024-02-01")], None,
        [WA]),
    row("factor 12 months and a day before does not", [assessment("2023-01-31", "18C"), agreement("2024-02-01")],
        None, []),
    row("assessment after the agreement does not count", [agreement("2024-02-01"), assessment("2024-02-02", "19C")],
        None, []),
    row("late assessment (arrives after the agreement)", [agreement("2024-02-01"), assessment("2024-01-05", "11A")],
        None, [WA]),
    row("an agreement during a section 47 is sanctioned", [section47("2024-01-20"), agreement("2024-02-01")], None,
        []),
    row("an agreement within a child protection plan is sanctioned", [plan("2023-06-01"),
                                                                      plan("2023-12-01", "reviewed"),
                                                                      agreement("2024-02-01")], None, []),
    row("a section 47 counts where switched on", [section47("2024-01-20"), agreement("2024-02-01")], None, [WA],
        config=RulesConfig().with_params(RULE, section47=True)),
    row("a child protection plan counts where switched on", [plan("2023-06-01"), agreement("2024-02-01")], None,
        [WA], config=RulesConfig().with_params(RULE, child_protection_plan=True)),
    row("high-risk factors a section 47 answered: still raised (report class)",
        [assessment("2024-01-05", "19C"), section47("2024-01-20"), agreement("2024-02-01")], None, [WA]),
    row("left in place at closure after a section 47 in the episode",
        [referral("2024-01-02"), section47("2024-01-20"), agreement("2024-03-01"), closure("2024-03-01")], None, [WA]),
    row("the closure arrives late", [referral("2024-01-02"), section47("2024-01-20"), agreement("2024-03-01"),
                                     closure("2024-03-01")][::-1], None, [WA]),
    # Raised only as outside_the_episode (report class, low): see the test below.
    row("a previous episode's section 47 and plan do not count",
        [referral("2023-03-01"), section47("2023-03-10"), plan("2023-04-01"), plan("2023-09-01", "ended"),
         closure("2023-10-01"), referral("2024-01-02"), agreement("2024-03-01"), closure("2024-03-01")], None, [WA]),
    row("a previous episode's factors do not count",
        [referral("2023-03-01"), assessment("2023-03-20", "19C"), closure("2023-10-01"), referral("2024-01-02"),
         agreement("2024-03-01")], None, [WA]),
    row("a CIN plan is not high risk", [plan("2024-01-01", type="cin"), agreement("2024-02-01")], None, []),
    row("review and breach events are not agreements", [assessment("2024-01-05", "19C"),
                                                        agreement("2024-02-01", "reviewed")], None, []),
    row("duplicate events raise one alert", [assessment("2024-01-05", "19C"), agreement("2024-02-01"),
                                             agreement("2024-02-01"), assessment("2024-01-05", "19C")], None, [WA]),
    row("two agreements", [assessment("2024-01-05", "19C"), agreement("2024-02-01"),
                           agreement("2024-03-01", agreement="wa2")], None, [WA, ("wa2",)]),
    row("configured factor set", [assessment("2024-01-05", "18C"), agreement("2024-02-01")], None, [],
        config=RulesConfig().with_params(RULE, high_risk_factors=["19B", "19C"])),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_lists_the_evidence_and_updates_as_it_grows() -> None:
    steps = [assessment("2024-01-05", "19C", "3A"), agreement("2024-02-01"), section47("2024-01-20")]
    alerts = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert len({a.alert_id for a in alerts}) == 1
    first, last = alerts
    assert first.facts["high_risk_factors"] == "19C,3A" and first.facts["section47_started"] is None
    assert (first.facts["pattern"], first.delivery, first.severity) == ("instead_of_statutory_response", "immediate",
                                                                        "high")  # fmt: skip
    assert last.facts["section47_started"] == "2024-01-20"
    assert last.event_ids == ["agreement-wa1-made:C1:2024-02-01", "assessment-a1:C1:2024-01-05", "s47-e1:C1:2024-01-20"]
    # the enquiry answered the risk: sanctioned practice, counted in the QA report only
    assert (last.facts["pattern"], last.delivery, last.severity) == ("sanctioned", "report", "medium")


def test_a_step_down_at_closure_is_a_worklist_line_that_says_when_the_plan_ended() -> None:
    steps = [referral("2024-01-02"), section47("2024-01-10"), plan("2024-02-01"), plan("2024-08-01", "ended"),
             agreement("2024-08-01"), closure("2024-08-20")]  # fmt: skip
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE][-1:]
    assert (alert.facts["pattern"], alert.delivery, alert.severity) == ("step_down_at_closure", "worklist", "high")
    assert alert.facts["cp_plan_ended"] == "2024-08-01" and alert.facts["closed_on"] == "2024-08-20"
    assert "ended 2024-08-01" in alert.explanation


def test_evidence_from_a_previous_episode_is_only_counted_in_the_report() -> None:
    steps = [referral("2023-03-01"), assessment("2023-03-20", "19C"), closure("2023-10-01"), referral("2024-01-02"),
             agreement("2024-03-01")]  # fmt: skip
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE][-1:]
    assert (alert.facts["pattern"], alert.delivery, alert.severity) == ("outside_the_episode", "report", "low")


def test_a_referral_read_after_the_agreement_moves_the_episode_under_the_same_id() -> None:
    # Topics are read in any order: the agreement first judged without its episode (a
    # same-day message), then the referrals and closure place the assessment in an earlier
    # episode. The alert id stays; its latest content is what replay has.
    steps = [assessment("2023-03-20", "19C"), agreement("2024-03-01"), referral("2023-03-01"),
             closure("2023-10-01"), referral("2024-01-02")]  # fmt: skip
    alerts = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert len({a.alert_id for a in alerts}) == 1
    assert alerts[0].facts["pattern"] == "instead_of_statutory_response"
    assert (alerts[-1].facts["pattern"], alerts[-1].delivery) == ("outside_the_episode", "report")
