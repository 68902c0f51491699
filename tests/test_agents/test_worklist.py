"""The weekly worklist builder: one line per child, merged findings, marks, order, teams, volume."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from agents.worklist import (
    WeekError,
    WorklistPolicy,
    build_worklists,
    week_end,
    week_of,
    week_start,
    weekly_volume,
)
from schemas.alerts import Alert
from tests.alerts import make_alert


def alert(
    key: str,
    *,
    child: str | None = "C1",
    team: str = "CIN East",
    day: str = "2024-02-14",
    rule: str = "agreement_review_overdue",
    severity: str = "medium",
    delivery: str = "worklist",
    link: str | None = None,
    facts: dict[str, Any] | None = None,
) -> Alert:
    """A worklist-class alert (make_alert's defaults are for alerts sent on their own)."""
    return make_alert(
        key, rule=rule, severity=severity, child_id=child, team=team, day=day, link=link, delivery=delivery,
        facts=facts if facts is not None else {"agreement_id": f"wa-{key}"},
    )  # fmt: skip


WEEK = "2024-W07"  # Monday 12 to Sunday 18 February 2024


def test_weeks_are_iso_weeks_in_london() -> None:
    assert week_of(datetime(2024, 2, 12, 0, 0, tzinfo=UTC)) == "2024-W07"
    # 23:30 UTC on Sunday 31 March 2024 is 00:30 BST on Monday 1 April: the next week.
    assert week_of(datetime(2024, 3, 31, 23, 30, tzinfo=UTC)) == "2024-W14"
    assert week_start("2024-W14") == datetime(2024, 3, 31, 23, 0, tzinfo=UTC)
    assert week_end("2024-W07") == datetime(2024, 2, 19, 0, 0, tzinfo=UTC)
    with pytest.raises(WeekError, match="ISO week"):
        week_start("2024-7")


def test_one_line_per_child_merging_all_its_open_findings() -> None:
    alerts = [
        alert("a", day="2024-02-12", rule="agreement_review_overdue", facts={"agreement_id": "wa-1"}),
        alert(
            "b",
            day="2024-02-15",
            rule="rereferral_after_agreement",
            severity="high",
            facts={"agreement_id": "wa-1", "referral_date": "2024-02-15"},
        ),
        alert("c", child="C2", day="2024-02-13"),
    ]
    [worklist] = build_worklists(alerts, WEEK).values()
    assert [line.child_id for line in worklist.lines] == ["C1", "C2"]
    c1 = worklist.lines[0]
    assert c1.rules == ("rereferral_after_agreement", "agreement_review_overdue")
    assert c1.severity == "high"
    assert [dict(i.facts) for i in c1.items] == [
        {"agreement_id": "wa-1", "referral_date": "2024-02-15"},
        {"agreement_id": "wa-1"},
    ]
    assert worklist.counts() == {"lines": 2, "new": 2, "open": 0, "overdue": 0, "findings": 3, "high": 1}


def test_lines_are_ordered_highest_severity_first_then_newest() -> None:
    alerts = [
        alert("old-high", child="C1", day="2024-02-05", severity="high"),
        alert("new-medium", child="C2", day="2024-02-16"),
        alert("new-high", child="C3", day="2024-02-15", severity="high"),
        alert("older-medium", child="C4", day="2024-02-12"),
    ]
    [worklist] = build_worklists(alerts, WEEK).values()
    assert [line.child_id for line in worklist.lines] == ["C3", "C1", "C2", "C4"]


def test_marks_new_still_open_overdue_and_the_line_takes_its_oldest() -> None:
    policy = WorklistPolicy(overdue_after_weeks=3, keep_weeks=8)
    alerts = [
        alert("this-week", child="C1", day="2024-02-14"),
        alert("last-week", child="C2", day="2024-02-07"),
        alert("three-weeks", child="C3", day="2024-01-22"),
        alert("c1-earlier", child="C1", day="2024-01-31"),  # C1 was already on the list two weeks ago
    ]
    [worklist] = build_worklists(alerts, WEEK, policy=policy).values()
    marks = {line.child_id: line.mark for line in worklist.lines}
    assert marks == {"C1": "open", "C2": "open", "C3": "overdue"}
    c1 = next(line for line in worklist.lines if line.child_id == "C1")
    assert [i.mark for i in c1.items] == ["new", "open"]
    assert build_worklists([alert("x", day="2024-02-14")], WEEK)["CIN East"].lines[0].mark == "new"


def test_a_finding_stays_keep_weeks_lists_unless_resolved() -> None:
    policy = WorklistPolicy(keep_weeks=2)
    raised = alert("r", day="2024-02-06")  # week 6
    assert len(build_worklists([raised], "2024-W06", policy=policy)["CIN East"].lines) == 1
    assert len(build_worklists([raised], "2024-W07", policy=policy)["CIN East"].lines) == 1
    assert build_worklists([raised], "2024-W08", policy=policy)["CIN East"].lines == ()
    resolved = build_worklists([raised], "2024-W07", policy=policy, resolved={raised.alert_id})
    assert resolved["CIN East"].lines == ()
    forever = WorklistPolicy(keep_weeks=None)
    assert len(build_worklists([raised], "2025-W07", policy=forever)["CIN East"].lines) == 1


def test_findings_raised_after_the_week_are_not_on_its_list() -> None:
    assert build_worklists([alert("later", day="2024-02-19")], WEEK) == {}


def test_every_team_gets_exactly_one_list_even_an_empty_one() -> None:
    alerts = [
        alert("w", team="CIN East"),
        alert("r", team="Assessment", delivery="report"),  # a team with only report findings
    ]
    lists = build_worklists(alerts, WEEK, teams=["Front Door"])
    assert sorted(lists) == ["Assessment", "CIN East", "Front Door"]
    assert [len(w.lines) for w in lists.values()] == [0, 1, 0]


def test_a_child_who_moved_team_is_on_one_list_the_team_of_its_newest_finding() -> None:
    alerts = [
        alert("a", child="C1", team="Assessment", day="2024-02-12"),
        alert("b", child="C1", team="CIN East", day="2024-02-15"),
    ]
    lists = build_worklists(alerts, WEEK)
    assert lists["Assessment"].lines == ()
    [line] = lists["CIN East"].lines
    assert [i.alert_id for i in line.items] == [alerts[1].alert_id, alerts[0].alert_id]


def test_team_level_findings_make_one_line_for_the_team() -> None:
    alerts = [
        alert("t1", child=None, rule="team_rereferral_rate_high", day="2024-02-12"),
        alert("t2", child=None, rule="team_rereferral_rate_high", day="2024-02-13", team="CIN West"),
    ]
    lists = build_worklists(alerts, WEEK)
    assert [(line.child_id, line.subject) for line in lists["CIN East"].lines] == [(None, "the team as a whole")]
    assert len(lists["CIN West"].lines) == 1


def test_classes_the_worklist_carries() -> None:
    alerts = [
        alert("i", child="C1", delivery="immediate"),
        alert("w", child="C2", delivery="worklist"),
        alert("r", child="C3", delivery="report"),
    ]
    assert [ln.child_id for ln in build_worklists(alerts, WEEK)["CIN East"].lines] == ["C1", "C2"]
    only_worklist = WorklistPolicy(classes=frozenset({"worklist"}))
    assert [ln.child_id for ln in build_worklists(alerts, WEEK, policy=only_worklist)["CIN East"].lines] == ["C2"]


def test_the_line_links_to_the_newest_finding_s_record() -> None:
    alerts = [
        alert("a", day="2024-02-12", link="https://lcs.example/child/C1?old"),
        alert("b", day="2024-02-14", link="https://lcs.example/child/C1"),
        alert("c", day="2024-02-15", link=None),
    ]
    [line] = build_worklists(alerts, WEEK)["CIN East"].lines
    assert line.link == "https://lcs.example/child/C1"


def test_weekly_volume_counts_messages_lines_and_report_only_per_team_and_week() -> None:
    alerts = [
        alert("i1", child="C1", delivery="immediate", day="2024-02-06"),
        alert("w1", child="C1", delivery="worklist", day="2024-02-07"),
        alert("w2", child="C2", delivery="worklist", day="2024-02-13"),
        alert("r1", child="C3", delivery="report", day="2024-02-13"),
    ]
    volume = weekly_volume(alerts, policy=WorklistPolicy(keep_weeks=8), until=date(2024, 2, 20))
    got = [(v.week, v.team, v.immediate, v.worklist_lines, v.report_only) for v in volume]
    assert got == [
        ("2024-W06", "CIN East", 1, 1, 0),  # C1 (one line for two findings)
        ("2024-W07", "CIN East", 0, 2, 1),  # C1 still open, C2 new
        ("2024-W08", "CIN East", 0, 2, 0),
    ]
    # The lines are the builder's own: no second copy of the logic.
    assert volume[1].worklist_lines == len(build_worklists(alerts, "2024-W07")["CIN East"].lines)
    every_class_sent = weekly_volume(alerts, notify_classes={"immediate", "worklist", "report"})
    assert [v.immediate for v in every_class_sent] == [2, 2]
    assert weekly_volume([]) == []


def test_weekly_volume_has_a_row_for_quiet_weeks_from_since_for_known_teams() -> None:
    alerts = [alert("w1", day="2024-02-14"), alert("w2", day="2024-03-01", delivery="immediate")]
    volume = weekly_volume(alerts, teams=["Front Door"], since=date(2024, 2, 1), until=date(2024, 3, 1))
    weeks = sorted({v.week for v in volume})
    assert weeks == ["2024-W05", "2024-W06", "2024-W07", "2024-W08", "2024-W09"]
    assert [v.week for v in volume if v.team == "CIN East"] == weeks[2:]  # from its first alert on
    assert [v.week for v in volume if v.team == "Front Door"] == weeks  # configured: from the start
    assert sum(v.immediate for v in volume) == 1
