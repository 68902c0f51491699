"""child_views_not_recorded: an assessment completed without the child's views recorded."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, assessment, check, row

RULE = "child_views_not_recorded"

ROWS = [
    row("views not recorded", [assessment("2024-01-20", "16A", views=False)], None, [("a1",)]),
    row("views recorded", [assessment("2024-01-20", "16A", views=True)], None, []),
    row("source does not say (null) is not judged", [assessment("2024-01-20", "16A", views=None)], None, []),
    row("duplicate events raise one alert", [assessment("2024-01-20", "16A", views=False)] * 2, None, [("a1",)]),
    row("one assessment sent twice with new event ids is still one alert",
        [assessment("2024-01-20", views=False, id="x1"), assessment("2024-01-21", views=False, id="x2")], None,
        [("a1",)]),
    row("two assessments", [assessment("2024-01-20", views=False),
                            assessment("2024-06-20", views=False, assessment="a2")], None, [("a1",), ("a2",)]),
    row("disabled", [assessment("2024-01-20", views=False)], None, [],
        config=RulesConfig().with_params(RULE, enabled=False)),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)
