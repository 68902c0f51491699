"""A child's timeline on the page (casewatch/delivery/views.py): who may open it, and its order."""

from datetime import UTC, datetime

from agents.timeline import TimelineRow
from casewatch.delivery.views import Finding, sees_child, timeline_entries
from tests.alerts import make_alert


def event(event_id: str, day: str, team: str = "Front Door") -> TimelineRow:
    at = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return TimelineRow(event_id, "C1", "referral", team, at, None, None, {"referral_source": "1A"})


def test_a_reader_sees_a_child_when_one_of_their_teams_holds_an_event_or_an_alert_of_it() -> None:
    front, east = event("e1", "2024-01-02"), event("e2", "2024-02-02", team="CIN East")
    alert = Finding(make_alert("a", team="CIN East"), "open")
    assert sees_child({"CIN East"}, [front, east], [])
    assert not sees_child({"CIN West"}, [front, east], [])  # others' events only
    assert sees_child({"CIN West"}, [front], [alert])  # `found` holds only the reader's teams' alerts
    assert sees_child(None, [front], []) and not sees_child(None, [], [])  # all teams: whatever is stored


def test_entries_are_newest_first_with_an_alert_above_the_event_it_was_raised_on() -> None:
    alert = Finding(make_alert("a", day="2024-05-02"), "open")  # raised on the referral of that day
    older, same = event("e1", "2024-01-02"), event("e2", "2024-05-02")
    entries = timeline_entries([older, same], [alert])
    assert [(e.event.event_id if e.event else "alert") for e in entries] == ["alert", "e2", "e1"]
