"""repeated_agreements: N or more agreements for one child within 12 months."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, agreement, check, row, run_live

RULE = "repeated_agreements"


def made(day: str, name: str):  # type: ignore[no-untyped-def]
    return agreement(day, agreement=name)


ROWS = [
    row("the third within 12 months", [made("2024-01-01", "w1"), made("2024-04-01", "w2"), made("2024-09-01", "w3")],
        None, [("w3",)]),
    row("two are not enough", [made("2024-01-01", "w1"), made("2024-04-01", "w2")], None, []),
    row("the first exactly 12 months before is out of the window",
        [made("2023-09-01", "w1"), made("2024-04-01", "w2"), made("2024-09-01", "w3")], None, []),
    row("a day less than 12 months is in",
        [made("2023-09-02", "w1"), made("2024-04-01", "w2"), made("2024-09-01", "w3")], None, [("w3",)]),
    row("every agreement from the third on", [made("2024-01-01", "w1"), made("2024-02-01", "w2"),
                                              made("2024-03-01", "w3"), made("2024-04-01", "w4")], None,
        [("w3",), ("w4",)]),
    row("late first agreement", [made("2024-04-01", "w2"), made("2024-09-01", "w3"), made("2024-01-01", "w1")],
        None, [("w3",)]),
    row("reviews and breaches are not agreements", [made("2024-01-01", "w1"), made("2024-04-01", "w2"),
                                                    agreement("2024-05-01", "reviewed", agreement="w2"),
                                                    agreement("2024-06-01", "breached", agreement="w2")], None, []),
    row("duplicates do not add up", [made("2024-01-01", "w1"), made("2024-04-01", "w2"), made("2024-04-01", "w2")],
        None, []),
    row("configured count", [made("2024-01-01", "w1"), made("2024-04-01", "w2")], None, [("w2",)],
        config=RulesConfig().with_params(RULE, count=2)),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_lists_every_agreement_in_the_window() -> None:
    steps = [made("2024-01-01", "w1"), made("2024-04-01", "w2"), made("2024-09-01", "w3")]
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert alert.event_ids == [s.event_id for s in steps]
    assert alert.facts["agreements_in_window"] == 3
