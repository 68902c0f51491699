"""The example alerts in docs/rules.md are what the rules raise for these events."""

import json
from pathlib import Path

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import agreement, assessment, outcome, plan, referral, run_live
from tests.test_agents.test_rule_team_rereferral_rate_high import SIX, until

DOCS = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()
CONFIG = RulesConfig(link_template="https://lcs.example.gov.uk/child/{child_id}")
EXAMPLES = {
    "rereferral_after_agreement": ([agreement("2024-01-10", closure=True), referral("2024-05-02")], None),
    "agreement_disproportionate_to_risk": (
        [assessment("2024-01-05", "19C", "3A"), agreement("2024-02-01")], None),
    "agreement_review_overdue": ([agreement("2024-01-10", review_due="2024-02-01")], "2024-02-10"),
    "agreement_breach_without_followup": ([agreement("2024-01-10"), agreement("2024-03-01", "breached")], "2024-03-20"),
    "repeated_agreements": ([agreement("2024-01-01", agreement="wa1"), agreement("2024-04-01", agreement="wa2"),
                             agreement("2024-09-01", agreement="wa3")], None),
    "sexual_abuse_indicator_not_recorded": (
        [referral("2024-01-02", "19C"), assessment("2024-01-20", "16A", "3A")], None),
    "plan_not_smart": ([plan("2024-01-10", outcomes=[outcome("o1", owner=False), outcome("o2", target=None),
                                                     outcome("o3")])], None),
    "child_views_not_recorded": ([assessment("2024-01-20", "16A", views=False)], None),
    "team_rereferral_rate_high": ([*SIX, agreement("2023-03-01", child="C10"), *until("2024-01-08")], "2024-01-08"),
}  # fmt: skip


@pytest.mark.parametrize("rule", list(EXAMPLES))
def test_the_documented_example_alert_is_what_the_rule_raises(rule: str) -> None:
    steps, now = EXAMPLES[rule]
    alert = [a for a in run_live(steps, now, CONFIG) if a.rule == rule][-1]
    section = DOCS.split(f"## {rule}")[1].split("\n## ")[0]
    documented = json.loads(section.split("```json")[1].split("```")[0])
    produced = alert.model_dump(mode="json", exclude={"ingested_at", "schema_version"})
    assert {k: produced[k] for k in documented} == documented
