"""plan_not_smart: a plan outcome without a measure, an owner or a target date."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, check, outcome, plan, row, run_live

RULE = "plan_not_smart"
GOOD = [outcome("o1"), outcome("o2")]
STARTED = ("plan-p1-started:C1:2024-01-10",)

ROWS = [
    row("every outcome SMART", [plan("2024-01-10", outcomes=GOOD)], None, []),
    row("an outcome without a measure", [plan("2024-01-10", outcomes=[outcome("o1", measure=False)])], None,
        [STARTED]),
    row("an outcome without an owner", [plan("2024-01-10", outcomes=[outcome("o1", owner=False)])], None, [STARTED]),
    row("an outcome without a target date", [plan("2024-01-10", outcomes=[outcome("o1", target=None)])], None,
        [STARTED]),
    row("a CIN plan too", [plan("2024-01-10", type="cin", outcomes=[outcome("o1", owner=False)])], None, [STARTED]),
    row("and at a review", [plan("2024-01-10", outcomes=GOOD),
                            plan("2024-04-10", "reviewed", outcomes=[outcome("o1", target=None)])], None,
        [("plan-p1-reviewed:C1:2024-04-10",)]),
    row("an ended plan is not judged", [plan("2024-06-10", "ended", outcomes=[outcome("o1", owner=False)])], None, []),
    row("no outcomes reported is not judged", [plan("2024-01-10")], None, []),
    row("duplicate events raise one alert", [plan("2024-01-10", outcomes=[outcome("o1", owner=False)])] * 2, None,
        [STARTED]),
    row("only CP plans judged", [plan("2024-01-10", type="cin", outcomes=[outcome("o1", owner=False)])], None, [],
        config=RulesConfig().with_params(RULE, plan_types=["cp"])),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_counts_the_outcomes_by_what_they_lack() -> None:
    steps = [plan("2024-01-10", outcomes=[outcome("o1", measure=False, owner=False), outcome("o2", target=None),
                                          outcome("o3")])]  # fmt: skip
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert alert.facts["outcomes"] == 3 and alert.facts["outcomes_not_smart"] == 2
    assert (alert.facts["missing_measure"], alert.facts["missing_owner"]) == ("o1", "o1")
    assert alert.facts["missing_target_date"] == "o2"
    assert alert.explanation.startswith("CP plan p1 (started 2024-01-10) has 2 of 3 outcomes")
