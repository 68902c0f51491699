"""agreement_review_overdue (time-driven): no review by the review date plus grace."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, Tick, agreement, check, closure, referral, row, run_live

RULE = "agreement_review_overdue"
MADE = agreement("2024-01-10", review_due="2024-02-01")
DUE = ("wa1", "2024-02-01")

CLOSED = ("wa1", "closure")
ROWS = [
    row("closed with the agreement in place: one finding at the closure, no overdue",
        [referral("2024-01-02"), MADE, closure("2024-01-20")], "2024-06-01", [CLOSED]),
    row("the closure finding is raised the day after the closure", [referral("2024-01-02"), MADE,
                                                                   closure("2024-01-20")], "2024-01-21", [CLOSED]),
    row("not on the closure day itself", [referral("2024-01-02"), MADE, closure("2024-01-20")], "2024-01-20", []),
    row("the source says it accompanied the closure",
        [agreement("2024-01-10", review_due="2024-02-01", closure=True)], "2024-06-01", [CLOSED]),
    row("ended before the closure: neither", [referral("2024-01-02"), MADE, agreement("2024-01-15", "ended"),
                                             closure("2024-01-20")], "2024-06-01", []),
    row("no review date: nothing to hold at the closure either", [referral("2024-01-02"), agreement("2024-01-10"),
                                                                  closure("2024-01-20")], "2024-06-01", []),
    row("its review already overdue before the closure: that alert only", [referral("2024-01-02"), MADE,
                                                                          closure("2024-02-20")], "2024-06-01", [DUE]),
    row("at-closure finding switched off", [referral("2024-01-02"), MADE, closure("2024-01-20")], "2024-06-01", [],
        config=RulesConfig().with_params(RULE, at_closure=False)),
    row("no review: raised the day after the grace ends", [MADE], "2024-02-09", [DUE]),
    row("not before (the last day of grace)", [MADE], "2024-02-08", []),
    row("review on the last day of grace", [MADE, agreement("2024-02-08", "reviewed")], "2024-03-01", []),
    row("review a day too late", [MADE, agreement("2024-02-09", "reviewed")], "2024-03-01", [DUE]),
    row("review before the review date", [MADE, agreement("2024-01-25", "reviewed")], "2024-03-01", []),
    row("agreement ended before the deadline", [MADE, agreement("2024-01-20", "ended")], "2024-03-01", []),
    row("no review date, nothing to be overdue", [agreement("2024-01-10")], "2025-01-01", []),
    row("a review sets the next date, which is missed",
        [MADE, agreement("2024-01-30", "reviewed", review_due="2024-05-01")], "2024-06-01", [("wa1", "2024-05-01")]),
    row("late review, recorded before the clock ran", [MADE, Tick("2024-02-05"), agreement("2024-02-03", "reviewed")],
        "2024-03-01", []),
    row("a review recorded after the clock passed the deadline does not withdraw the alert "
        "(replay, in event-time order, sees it in time)",
        [MADE, Tick("2024-02-20"), agreement("2024-02-03", "reviewed")], "2024-03-01", [DUE], in_replay=[]),
    row("duplicate events, and the clock running twice, raise one alert", [MADE, MADE, Tick("2024-02-10")],
        "2024-03-01", [DUE]),
    row("no grace", [MADE], "2024-02-02", [DUE], config=RulesConfig().with_params(RULE, grace_days=0)),
    row("disabled", [MADE], "2024-03-01", [], config=RulesConfig().with_params(RULE, enabled=False)),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_is_dated_the_day_after_the_deadline_and_does_not_depend_on_now() -> None:
    early = [a for a in run_live([MADE], "2024-02-09", RulesConfig()) if a.rule == RULE]
    late = [a for a in run_live([MADE], "2025-06-30", RulesConfig()) if a.rule == RULE]
    assert early == late
    assert early[0].occurred_at.date().isoformat() == "2024-02-09"
    assert early[0].facts["deadline"] == "2024-02-08"


def test_a_review_on_the_closure_day_is_in_the_closure_finding_live_and_in_replay() -> None:
    from tests.test_agents.rows import run_replay

    steps = [referral("2024-01-02"), MADE, closure("2024-01-20"), agreement("2024-01-20", "reviewed")]
    for alerts in (run_live(steps, "2024-02-01", RulesConfig()), run_replay(steps, "2024-02-01", RulesConfig())):
        [found] = [a for a in alerts if a.rule == RULE]
        assert found.facts["last_review"] == "2024-01-20"
