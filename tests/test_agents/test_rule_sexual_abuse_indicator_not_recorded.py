"""sexual_abuse_indicator_not_recorded: a sexual-abuse concern the assessment factors do not hold."""

import pytest

from agents.rules import RulesConfig
from tests.test_agents.rows import ROW_FIELDS, assessment, check, contact, plan, referral, row, run_live

RULE = "sexual_abuse_indicator_not_recorded"
A1 = ("a1",)

ROWS = [
    row("referral coded 19C, assessment without it", [referral("2024-01-02", "19C"), assessment("2024-01-20", "16A")],
        None, [A1]),
    row("assessment records 19C", [referral("2024-01-02", "19C"), assessment("2024-01-20", "16A", "19C")], None, []),
    row("assessment records child sexual exploitation",
        [referral("2024-01-02", "19B"), assessment("2024-01-20", "11A")], None, []),
    row("pre-2021 code 19A raises and records", [referral("2024-01-02", "19A"), assessment("2024-01-20", "19A")],
        None, []),
    row("contact 90 days before the assessment", [contact("2024-01-01", "11A"), assessment("2024-03-31", "16A")],
        None, [A1]),
    row("contact 91 days before is another episode", [contact("2023-12-31", "11A"), assessment("2024-03-31", "16A")],
        None, []),
    row("no sexual-abuse concern", [referral("2024-01-02", "16A", "3A"), assessment("2024-01-20", "16A")], None, []),
    row("no factors identified (21) is judged", [referral("2024-01-02", "19C"), assessment("2024-01-20", "21")], None,
        [A1]),
    row("an assessment without factors says nothing", [referral("2024-01-02", "19C"), assessment("2024-01-20")], None,
        []),
    row("SAB plan after the assessment", [assessment("2024-01-20", "16A"), plan("2024-02-15", categories=["SAB"])],
        None, [A1]),
    row("a plan of another category", [assessment("2024-01-20", "16A"), plan("2024-02-15", categories=["NEG"])], None,
        []),
    row("late concern (arrives after the assessment)", [assessment("2024-01-20", "16A"), referral("2024-01-02", "19C")],
        None, [A1]),
    row("concern after the assessment is not its episode", [assessment("2024-01-20", "16A"),
                                                           referral("2024-02-02", "19C")], None, []),
    row("an earlier assessment in the episode recorded it", [referral("2024-01-02", "19C"),
                                                            assessment("2024-01-10", "19C", assessment="a0"),
                                                            assessment("2024-02-20", "16A")], None, []),
    row("an earlier assessment that recorded it, arriving late, cannot withdraw the alert "
        "(replay, in event-time order, sees it first)",
        [referral("2024-01-02", "19C"), assessment("2024-02-20", "16A"),
         assessment("2024-01-10", "19C", assessment="a0")], None, [A1], in_replay=[]),
    row("duplicate events raise one alert", [referral("2024-01-02", "19C"), assessment("2024-01-20", "16A"),
                                             assessment("2024-01-20", "16A"), referral("2024-01-02", "19C")], None,
        [A1]),
    row("configured concern codes", [referral("2024-01-02", "11A"), assessment("2024-01-20", "16A")], None, [],
        config=RulesConfig().with_params(RULE, concern_codes=["19B", "19C"])),
]  # fmt: skip


@pytest.mark.parametrize(ROW_FIELDS, ROWS)
def test_rows(steps, now, expected, in_replay, config) -> None:
    check(RULE, steps, now, expected, in_replay, config)


def test_alert_names_the_concern_and_what_was_recorded() -> None:
    steps = [contact("2024-01-01", "11A", "3A"), referral("2024-01-02", "19C"), assessment("2024-01-20", "16A")]
    [alert] = [a for a in run_live(steps, None, RulesConfig()) if a.rule == RULE]
    assert alert.facts["concerns"] == "11A,19C"
    assert alert.facts["first_concern"] == "2024-01-01"
    assert alert.facts["factors_recorded"] == "16A"
    assert alert.event_ids[0] == steps[2].event_id
    assert set(alert.event_ids[1:]) == {steps[0].event_id, steps[1].event_id}
