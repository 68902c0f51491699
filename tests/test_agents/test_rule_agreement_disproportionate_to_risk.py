"""agreement_disproportionate_to_risk: an agreement where the episode shows high risk."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, agreement, assessment, check, plan, row, run_live, section47

RULE = "agreement_disproportionate_to_risk"
WA = ("wa1",)

ROWS = [
    row("sexual abuse factor before the agreement", [assessment("2024-01-05", "19C"), agreement("2024-02-01")], None,
        [WA]),
    row("each default high-risk factor", [assessment("2024-01-05", "16A", "24A"), agreement("2024-02-01")], None,
        [WA]),
    row("ordinary factors only", [assessment("2024-01-05", "16A", "3A"), agreement("2024-02-01")], None, []),
    row("factor exactly 12 months before counts", [assessment("2023-02-01", "18C"), agreement("2024-02-01")], None,
        [WA]),
    row("factor 12 months and a day before does not", [assessment("2023-01-31", "18C"), agreement("2024-02-01")],
        None, []),
    row("assessment after the agreement does not count", [agreement("2024-02-01"), assessment("2024-02-02", "19C")],
        None, []),
    row("late assessment (arrives after the agreement)", [agreement("2024-02-01"), assessment("2024-01-05", "11A")],
        None, [WA]),
    row("section 47 enquiry in the episode", [section47("2024-01-20"), agreement("2024-02-01")], None, [WA]),
    row("child protection plan open in the episode", [plan("2023-06-01"), plan("2023-12-01", "reviewed"),
                                                      agreement("2024-02-01")], None, [WA]),
    row("a CIN plan is not high risk", [plan("2024-01-01", type="cin"), agreement("2024-02-01")], None, []),
    row("review and breach events are not agreements", [assessment("2024-01-05", "19C"),
                                                        agreement("2024-02-01", "reviewed")], None, []),
    row("duplicate events raise one alert", [assessment("2024-01-05", "19C"), agreement("2024-02-01"),
                                             agreement("2024-02-01"), assessment("2024-01-05", "19C")], None, [WA]),
    row("two agreements", [assessment("2024-01-05", "19C"), agreement("2024-02-01"),
                           agreement("2024-03-01", agreement="wa2")], None, [WA, ("wa2",)]),
    row("configured factor set", [assessment("2024-01-05", "18C"), agreement("2024-02-01")], None, [],
        config=RulesConfig().with_params(RULE, high_risk_factors=["19B", "19C"])),
    row("section 47 switched off", [section47("2024-01-20"), agreement("2024-02-01")], None, [],
        config=RulesConfig().with_params(RULE, section47=False)),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_lists_the_evidence_and_updates_as_it_grows() -> None:
    steps = [assessment("2024-01-05", "19C", "3A"), agreement("2024-02-01"), section47("2024-01-20")]
    alerts = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert len({a.alert_id for a in alerts}) == 1
    first, last = alerts
    assert first.facts["high_risk_factors"] == "19C" and first.facts["section47_started"] is None
    assert last.facts["section47_started"] == "2024-01-20"
    assert last.event_ids == ["agreement-wa1-made:C1:2024-02-01", "assessment-a1:C1:2024-01-05", "s47-e1:C1:2024-01-20"]
    assert last.severity == "high"
