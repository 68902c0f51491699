"""Delivery classes and the weekly worklist on a real database with a controlled clock:
what gets its own message, when the list is due, once per team and week, split cards."""

import json
import threading
from datetime import UTC, datetime, timedelta

from agents.worklist import Worklist, build_worklists
from casewatch.delivery.channels.base import Batch
from casewatch.delivery.channels.email import email_message
from casewatch.delivery.channels.teams import worklist_messages
from casewatch.delivery.channels.webhook import webhook_body
from casewatch.delivery.config import Worklist as WorklistSettings
from casewatch.delivery.lifecycle import change
from casewatch.delivery.outbox import list_notifications
from casewatch.delivery.worklists import due_week, notification_key, send_time
from tests.alerts import make_alert
from tests.test_delivery.support import T0, Harness, routing
from tests.test_delivery.test_channels import validate_card

WEEK = "2024-W22"  # Monday 27 May to Sunday 2 June 2024; T0 is Monday 3 June, 09:00 UTC (10:00 in London)


def config(**worklist: object) -> object:
    return routing(
        {
            "route": {
                "receiver": "managers",
                "group_wait": "0s",
                "routes": [{"matchers": ['team="Assessment"'], "receiver": "assessment"}],
            },
            "receivers": [{"name": "managers", "console": {}}, {"name": "assessment", "console": {}}],
            "delivery": {"timer_interval": "1s"},
            "worklist": {"day": "monday", "at": "10:30", **worklist},
        }
    )


def test_only_classes_in_notify_classes_get_their_own_message(database_url: str) -> None:
    h = Harness(database_url, routing({"route": {"receiver": "ops", "group_by": ["child_id"], "group_wait": "0s"},
                                       "receivers": [{"name": "ops", "console": {}}]}))  # fmt: skip
    alerts = [
        make_alert("i", child_id="C1", delivery="immediate"),
        make_alert("w", child_id="C2", delivery="worklist"),
        make_alert("r", child_id="C3", delivery="report"),
    ]
    h.store(*alerts, at=0)
    h.turn(at=1)
    assert h.channels["ops"].alert_sets() == [{alerts[0].alert_id}]
    everything = routing({"route": {"receiver": "ops", "group_by": ["child_id"], "group_wait": "0s"},
                          "receivers": [{"name": "ops", "console": {}}],
                          "notify_classes": ["immediate", "worklist", "report"]})  # fmt: skip
    assert everything.notify_classes == ["immediate", "worklist", "report"]


def test_a_worklist_alert_is_never_escalated_on_its_own(database_url: str) -> None:
    h = Harness(database_url, routing({
        "route": {"receiver": "ops", "group_wait": "0s", "escalate_after": "1h", "escalate_to": "heads"},
        "receivers": [{"name": "ops", "console": {}}, {"name": "heads", "console": {}}],
        "delivery": {"timer_interval": "1s"},
    }))  # fmt: skip
    h.store(make_alert("i", child_id="C1"), make_alert("w", child_id="C2", delivery="worklist"), at=0)
    h.turn(at=1)
    h.turn(at=3601)
    assert h.channels["heads"].alert_sets() == [{make_alert("i", child_id="C1").alert_id}]


def test_the_list_of_a_week_is_due_at_the_configured_day_and_hour_of_the_next_week() -> None:
    settings = WorklistSettings(day="monday", at="10:30")
    assert send_time(WEEK, settings) == datetime(2024, 6, 3, 9, 30, tzinfo=UTC)  # 10:30 BST
    assert due_week(datetime(2024, 6, 3, 9, 29, tzinfo=UTC), settings) == "2024-W21"
    assert due_week(datetime(2024, 6, 3, 9, 30, tzinfo=UTC), settings) == WEEK
    assert due_week(datetime(2024, 6, 9, 22, 0, tzinfo=UTC), settings) == WEEK
    friday = WorklistSettings(day="friday", at="16:00")
    assert send_time(WEEK, friday) == datetime(2024, 6, 7, 15, 0, tzinfo=UTC)


def _worklists(h: Harness) -> dict[str, list[Batch]]:
    found: dict[str, list[Batch]] = {}
    for name, channel in h.channels.items():
        found[name] = [b for b in channel.batches if b.kind == "worklist"]
    return found


def test_each_team_gets_one_worklist_a_week_from_its_receivers_with_one_line_per_child(database_url: str) -> None:
    h = Harness(database_url, config(teams=["Front Door"]))
    c1_old = make_alert("c1-a", child_id="C1", day="2024-05-28", delivery="worklist", severity="medium")
    c1_new = make_alert("c1-b", child_id="C1", day="2024-05-30", delivery="worklist")
    c2 = make_alert("c2", child_id="C2", day="2024-05-29", delivery="immediate", severity="low")
    resolved = make_alert("c4", child_id="C4", day="2024-05-29", delivery="worklist")
    assessment = make_alert("c3", child_id="C3", team="Assessment", day="2024-05-31", delivery="worklist")
    report = make_alert("c5", child_id="C5", team="QA", day="2024-05-31", delivery="report")
    later = make_alert("c6", child_id="C6", day="2024-06-03", delivery="worklist")  # next week's
    h.store(c1_old, c1_new, c2, resolved, assessment, report, later, at=-7200)
    change(h.engine, resolved.alert_id, "resolve", actor="team.manager", now=h.clock.at(-3600))

    h.turn(at=0)  # 09:00 UTC: this week's list is due at 09:30; the newest due is the week before's
    [previous] = _worklists(h)["managers"]
    assert previous.worklist == Worklist("Front Door", "2024-W21")  # only the configured team had a list then
    assert _worklists(h)["assessment"] == []
    h.channels["managers"].batches.clear()
    for second in (1800, 1801, 1802, 5000):
        h.turn(at=second)
    h.dispatcher = h.new_dispatcher()  # a restarted dispatcher does not send the week again
    h.turn(at=6000)

    sent = _worklists(h)
    assert sorted(b.worklist.team for b in sent["managers"] if b.worklist) == ["CIN East", "Front Door", "QA"]
    [assessment_list] = sent["assessment"]
    assert assessment_list.worklist is not None and [ln.child_id for ln in assessment_list.worklist.lines] == ["C3"]
    east = next(b.worklist for b in sent["managers"] if b.worklist and b.worklist.team == "CIN East")
    assert east is not None and east.week == WEEK
    assert [line.child_id for line in east.lines] == ["C1", "C2"]  # C4 resolved, C6 next week's
    assert [i.alert_id for i in east.lines[0].items] == [c1_new.alert_id, c1_old.alert_id]
    assert {b.worklist.team: len(b.worklist.lines) for b in sent["managers"] if b.worklist}["Front Door"] == 0
    assert [i.alert_id for i in east.lines[1].items] == [c2.alert_id]  # an immediate one stays on the list
    rows = [r for r in list_notifications(h.engine) if r.kind == "worklist"]
    assert len(rows) == 5 and {r.status for r in rows} == {"sent"}  # four this week, one the week before
    key = next(b.idempotency_key for b in sent["managers"] if b.worklist and b.worklist.team == "CIN East")
    assert key == notification_key("CIN East", WEEK, "managers")


def test_dispatchers_racing_for_the_week_add_each_list_once(database_url: str) -> None:
    h = Harness(database_url, config())
    h.store(*(make_alert(f"a{i}", child_id=f"C{i}", day="2024-05-29", delivery="worklist") for i in range(5)),
            at=-60)  # fmt: skip
    h.clock.at(1800)
    dispatchers = [h.new_dispatcher() for _ in range(4)]
    start = threading.Barrier(4)

    def run(index: int) -> None:
        start.wait(10)
        dispatchers[index].run_timers(h.clock.now)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for _ in range(3):
        h.turn(at=1801)
    [sent] = _worklists(h)["managers"]
    assert sent.worklist is not None and len(sent.worklist.lines) == 5
    assert len([r for r in list_notifications(h.engine) if r.kind == "worklist"]) == 1


def _big_worklist(children: int) -> Worklist:
    alerts = [
        make_alert(f"big-{i}", child_id=f"C{i:05d}", day="2024-05-29", delivery="worklist",
                   link=f"https://lcs.example/child/C{i:05d}")
        for i in range(children)
    ]  # fmt: skip
    return build_worklists(alerts, WEEK)["CIN East"]


def _batch(worklist: Worklist) -> Batch:
    return Batch(notification_id=9, idempotency_key=notification_key(worklist.team, worklist.week, "m"),
                 kind="worklist", receiver="m", group={"team": worklist.team, "week": worklist.week}, alerts=(),
                 worklist=worklist)  # fmt: skip


def test_a_worklist_over_the_teams_limit_is_split_into_parts_with_every_line_once() -> None:
    worklist = _big_worklist(120)
    parts = worklist_messages(_batch(worklist), worklist, max_bytes=28_000)
    assert len(parts) > 1
    seen: list[str] = []
    for number, body in enumerate(parts, start=1):
        assert len(body) <= 28_000
        card = json.loads(body)["attachments"][0]["content"]
        validate_card(card)
        assert card["body"][0]["text"].endswith(f"(part {number} of {len(parts)})")
        seen += [c["items"][0]["text"].split(" · ")[1] for c in card["body"] if c["type"] == "Container"]
    assert seen == [f"child C{i:05d}" for i in range(120)]  # none left out, none twice, in order

    [single] = worklist_messages(_batch(_big_worklist(3)), _big_worklist(3), max_bytes=28_000)
    card = json.loads(single)["attachments"][0]["content"]
    validate_card(card)
    assert "part" not in card["body"][0]["text"]
    empty = Worklist("Front Door", WEEK)
    [quiet] = worklist_messages(_batch(empty), empty, max_bytes=28_000)
    validate_card(json.loads(quiet)["attachments"][0]["content"])
    assert "nothing open" in json.loads(quiet)["attachments"][0]["content"]["body"][0]["text"]


def test_email_and_webhook_carry_the_whole_list() -> None:
    worklist = _big_worklist(3)
    message = email_message(_batch(worklist), sender="casewatch@council.example", to=["cin@council.example"])
    assert message["Subject"] == f"[casewatch] Worklist CIN East, week {WEEK}: 3 lines (3 new, 0 overdue, 3 high)"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(f"child C{i:05d}" in text for i in range(3))
    body = json.loads(webhook_body(_batch(worklist), T0 + timedelta(days=1)))
    assert body["kind"] == "worklist" and body["worklist"]["counts"]["lines"] == 3
    assert [line["child_id"] for line in body["worklist"]["lines"]] == ["C00000", "C00001", "C00002"]
