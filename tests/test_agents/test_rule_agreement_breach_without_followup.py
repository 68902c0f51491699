"""agreement_breach_without_followup (time-driven): a breach with nothing done within N days."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import (
    ROW_FIELDS,
    Tick,
    agreement,
    assessment,
    check,
    closure,
    contact,
    plan,
    referral,
    row,
    section47,
    strategy,
)

RULE = "agreement_breach_without_followup"
MADE = agreement("2024-01-10")
BREACH = agreement("2024-03-01", "breached")
KEY = ("wa1", "2024-03-01")

ROWS = [
    row("nothing after the breach: raised the day after the deadline", [MADE, BREACH], "2024-03-12", [KEY]),
    row("not on the deadline itself", [MADE, BREACH], "2024-03-11", []),
    row("strategy discussion on the deadline", [MADE, BREACH, strategy("2024-03-11")], "2024-04-01", []),
    row("strategy discussion a day late", [MADE, BREACH, strategy("2024-03-12")], "2024-04-01", [KEY]),
    row("assessment within the period", [MADE, BREACH, assessment("2024-03-05", "16A")], "2024-04-01", []),
    row("section 47 the same day", [MADE, BREACH, section47("2024-03-01")], "2024-04-01", []),
    row("something before the breach is no follow-up", [MADE, strategy("2024-02-28"), BREACH], "2024-04-01", [KEY]),
    row("late follow-up, recorded before the clock ran", [MADE, BREACH, Tick("2024-03-10"), strategy("2024-03-04")],
        "2024-04-01", []),
    row("two breaches, two alerts", [MADE, BREACH, agreement("2024-05-01", "breached")], "2024-06-01",
        [KEY, ("wa1", "2024-05-01")]),
    row("duplicate breach, one alert", [MADE, BREACH, BREACH], "2024-04-01", [KEY]),
    row("a contact is a follow-up", [MADE, BREACH, contact("2024-03-05")], "2024-04-01", []),
    row("a referral is a follow-up", [MADE, BREACH, referral("2024-03-05")], "2024-04-01", []),
    row("a plan review (CIN/CP meeting) is a follow-up", [plan("2024-01-05", type="cin"), MADE, BREACH,
        plan("2024-03-06", "reviewed", type="cin")], "2024-04-01", []),
    row("an assessment started in the period, authorised on the deadline", [MADE, BREACH,
        assessment("2024-03-11", "16A", started="2024-03-04")], "2024-05-01", []),
    # Authorised after the deadline: live, it settles the deadline if it arrives before the clock
    # passes it; replay, in event-time order, passes the deadline first.
    row("an assessment started in the period, authorised after the deadline", [MADE, BREACH,
        assessment("2024-04-20", "16A", started="2024-03-04")], "2024-05-01", [], in_replay=[KEY]),
    row("an assessment started before the breach is no follow-up", [MADE, BREACH,
        assessment("2024-03-05", "16A", started="2024-02-20")], "2024-05-01", [KEY]),
    row("a breach on a closed case is not this rule's", [referral("2024-01-02"), MADE, closure("2024-02-01"),
                                                        BREACH], "2024-04-01", []),
    row("a breach on the open case", [referral("2024-01-02"), MADE, BREACH, closure("2024-05-01")], "2024-06-01",
        [KEY]),
    row("only section 47s count here", [MADE, BREACH, strategy("2024-03-02")], "2024-04-01", [KEY],
        config=RulesConfig().with_params(RULE, followups=["section47"])),
    row("a longer period", [MADE, BREACH, strategy("2024-03-20")], "2024-04-01", [],
        config=RulesConfig().with_params(RULE, followup_days=21)),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)
