"""Grouping, reminders, inhibition, silences and escalation, on a real database with a controlled clock.

Alerts are stored the way the worker stores them (upsert with the outbox hook) at chosen
times; the dispatcher turns at chosen times and sends to recording channels.
"""

from sqlalchemy import select

from casewatch.delivery.lifecycle import audit_trail, change
from casewatch.delivery.outbox import list_notifications
from casewatch.delivery.silences import add_silence, remove_silence
from casewatch.delivery.tables import notification_alerts
from tests.alerts import make_alert
from tests.test_delivery.support import Harness, routing

GROUPED = routing(
    {
        "route": {"receiver": "managers", "group_by": ["team"], "group_wait": "30s", "group_interval": "5m",
                  "repeat_interval": "4h"},
        "receivers": [{"name": "managers", "console": {}}],
        "delivery": {"timer_interval": "0s"},
    }
)  # fmt: skip


def test_alerts_of_a_group_wait_for_each_other_then_go_at_most_once_per_group_interval(database_url: str) -> None:
    h = Harness(database_url, GROUPED)
    a, b = make_alert("a", child_id="C1"), make_alert("b", child_id="C2")
    other_team = make_alert("x", child_id="C9", team="CIN West")
    h.store(a, at=0)
    assert h.turn(at=10) == 0  # group_wait: nothing yet
    h.store(b, other_team, at=20)
    h.turn(at=30)
    assert h.channels["managers"].alert_sets() == [{a.alert_id, b.alert_id}]  # together, after 30 s
    h.turn(at=49)
    assert len(h.channels["managers"].batches) == 1  # the other team's group has its own group_wait
    h.turn(at=50)
    assert h.channels["managers"].alert_sets()[1] == {other_team.alert_id}

    c = make_alert("c", child_id="C3")
    h.store(c, at=40)
    h.turn(at=329)
    assert len(h.channels["managers"].batches) == 2  # group_interval: not before 30 s + 5 min
    h.turn(at=330)
    assert h.channels["managers"].alert_sets()[2] == {c.alert_id}

    h.store(a, at=400)  # the same alert again (a redelivery): no new notification
    assert h.turn(at=1000) == 0
    assert [n.status for n in list_notifications(h.engine)] == ["sent"] * 3


def test_a_changed_alert_is_notified_again_unless_the_route_says_not_to(database_url: str) -> None:
    config = routing(
        {
            "route": {"receiver": "managers", "group_wait": "0s", "group_interval": "0s",
                      "routes": [{"matchers": ["team=Quiet"], "notify_on_change": False}]},
            "receivers": [{"name": "managers", "console": {}}],
        }
    )  # fmt: skip
    h = Harness(database_url, config)
    loud, quiet = make_alert("loud"), make_alert("quiet", team="Quiet")
    h.store(loud, quiet, at=0)
    h.turn(at=1)
    h.store(loud.model_copy(update={"severity": "medium"}), quiet.model_copy(update={"severity": "medium"}), at=2)
    h.turn(at=3)
    sent = [(b.alerts[0].alert_id, b.alerts[0].severity) for b in h.channels["managers"].batches]
    assert sorted(sent) == sorted([(loud.alert_id, "high"), (quiet.alert_id, "high"), (loud.alert_id, "medium")])


def test_unacknowledged_alerts_are_repeated_after_repeat_interval_and_acknowledged_ones_are_not(
    database_url: str,
) -> None:
    h = Harness(database_url, GROUPED)
    a, b = make_alert("a", child_id="C1"), make_alert("b", child_id="C2")
    h.store(a, b, at=0)
    h.turn(at=30)
    change(h.engine, a.alert_id, "acknowledge", actor="manager.one", now=h.clock.at(60))
    h.turn(at=30 + 4 * 3600 - 1)
    assert len(h.channels["managers"].batches) == 1
    h.turn(at=30 + 4 * 3600)
    reminder = h.channels["managers"].batches[1]
    assert (reminder.kind, {x.alert_id for x in reminder.alerts}) == ("repeat", {b.alert_id})
    assert reminder.headline().startswith("Reminder: ")
    h.turn(at=30 + 4 * 3600 + 60)
    assert len(h.channels["managers"].batches) == 2  # one reminder per repeat_interval
    change(h.engine, b.alert_id, "resolve", actor="manager.one", now=h.clock.at(5 * 3600))
    h.turn(at=30 + 8 * 3600 + 60)
    assert len(h.channels["managers"].batches) == 2  # nothing open is left to remind of


INHIBITING = routing(
    {
        "route": {"receiver": "managers", "group_by": ["child_id", "rule"], "group_wait": "1m"},
        "receivers": [{"name": "managers", "console": {}}],
        "inhibit_rules": [
            {"source_matchers": ["rule=rereferral_after_agreement"],
             "target_matchers": ["rule=agreement_review_overdue"], "equal": ["agreement_id"]},
        ],
    }
)  # fmt: skip


def test_review_overdue_is_held_back_while_the_same_agreement_fired_rereferral(database_url: str) -> None:
    h = Harness(database_url, INHIBITING)
    rereferral = make_alert("rr", child_id="C1", facts={"agreement_id": "wa-1"})
    overdue = "agreement_review_overdue"
    overdue_same = make_alert("ov1", rule=overdue, child_id="C1", facts={"agreement_id": "wa-1"})
    overdue_other = make_alert("ov2", rule=overdue, child_id="C1", facts={"agreement_id": "wa-2"})
    overdue_elsewhere = make_alert("ov3", rule=overdue, child_id="C2", facts={"agreement_id": "wa-1"})
    h.store(overdue_same, overdue_other, overdue_elsewhere, at=0)
    h.store(rereferral, at=30)  # arrives while the targets wait out group_wait: it still inhibits
    h.turn(at=60)
    h.turn(at=90)
    sent = set().union(*h.channels["managers"].alert_sets())
    assert sent == {rereferral.alert_id, overdue_other.alert_id, overdue_elsewhere.alert_id}
    with h.engine.connect() as connection:
        why = dict(connection.execute(select(notification_alerts.c.alert_id, notification_alerts.c.muted_by)).all())
    assert why[overdue_same.alert_id] == f"inhibited by {rereferral.alert_id}"
    assert why[overdue_other.alert_id] is None

    # Once the source is resolved, the target is no longer held back (its next notification goes).
    change(h.engine, rereferral.alert_id, "resolve", actor="qa.officer", now=h.clock.at(100))
    h.store(overdue_same.model_copy(update={"severity": "medium"}), at=120)
    h.turn(at=400)
    assert overdue_same.alert_id in set().union(*h.channels["managers"].alert_sets())


def test_a_silence_mutes_matching_alerts_until_it_expires_or_is_removed(database_url: str) -> None:
    h = Harness(database_url, GROUPED)
    silence = add_silence(h.engine, ['team="CIN East"', "severity=~high|medium"], ends_at=h.clock.at(3600),
                          actor="team.manager", now=h.clock.at(0), comment="known backlog")  # fmt: skip
    east, west = make_alert("e1"), make_alert("w1", team="CIN West")
    h.store(east, west, at=0)
    h.turn(at=30)
    assert h.channels["managers"].alert_sets() == [{west.alert_id}]
    statuses = sorted(n.status for n in list_notifications(h.engine))
    assert statuses == ["muted", "sent"]

    later = make_alert("e2", child_id="C2")
    h.store(later, at=3000)
    h.turn(at=3599)  # still silenced at its flush time
    assert len(h.channels["managers"].batches) == 1
    after = make_alert("e3", child_id="C3")
    h.store(after, at=3600)  # the silence has expired
    h.turn(at=3600 + 300)
    assert h.channels["managers"].alert_sets()[-1] == {after.alert_id}

    second = add_silence(h.engine, ["rule=rereferral_after_agreement"], ends_at=h.clock.at(99_999),
                         actor="team.manager", now=h.clock.at(4000))  # fmt: skip
    remove_silence(h.engine, second.id, actor="team.manager", now=h.clock.at(4001))
    last = make_alert("e4", child_id="C4")
    h.store(last, at=4002)
    h.turn(at=4002 + 300)
    assert h.channels["managers"].alert_sets()[-1] == {last.alert_id}
    actions = [(e.action, e.subject_id) for e in audit_trail(h.engine, subject="silence")]
    assert actions == [("silence", str(silence.id)), ("silence", str(second.id)), ("unsilence", str(second.id))]


ESCALATING = routing(
    {
        "route": {"receiver": "managers", "group_by": ["team"], "group_wait": "0s", "repeat_interval": "30d",
                  "routes": [{"matchers": ["severity=high"], "escalate_after": "1h", "escalate_to": "heads"}]},
        "receivers": [{"name": "managers", "console": {}}, {"name": "heads", "console": {}}],
        "delivery": {"timer_interval": "0s"},
    }
)  # fmt: skip


def test_an_alert_unacknowledged_past_escalate_after_goes_to_the_second_receiver_once(database_url: str) -> None:
    h = Harness(database_url, ESCALATING)
    ignored, acknowledged = make_alert("ig", child_id="C1"), make_alert("ak", child_id="C2")
    low = make_alert("lo", child_id="C3", severity="medium")  # its route does not escalate
    h.store(ignored, acknowledged, low, at=0)
    h.turn(at=1)
    change(h.engine, acknowledged.alert_id, "acknowledge", actor="manager.one", now=h.clock.at(600))
    h.turn(at=3599)
    assert h.channels["heads"].batches == []
    h.turn(at=3600)
    [escalation] = h.channels["heads"].batches
    assert (escalation.kind, [a.alert_id for a in escalation.alerts]) == ("escalate", [ignored.alert_id])
    assert escalation.headline().startswith("ESCALATED: HIGH 1 alert")
    h.turn(at=7200)
    h.new_dispatcher().run_once()  # a second dispatcher does not escalate it again
    assert len(h.channels["heads"].batches) == 1
    trail = audit_trail(h.engine, subject="alert", subject_id=ignored.alert_id)
    assert [(e.actor, e.action, e.detail) for e in trail] == [("casewatch", "escalate", {"to": ["heads"]})]
    assert trail[0].at == h.clock.at(3600)
