"""The weekly worklist through real `casewatch dispatch` processes to a real Teams-like HTTP
receiver and a real SMTP server (aiosmtpd, STARTTLS and login) on 127.0.0.1.

The first dispatcher is killed (SIGKILL) while its first Teams post is in flight; two more
then run at once. Each team still gets its list exactly once per receiver, the card
validates against the Adaptive Card schema, and a later run sends nothing more that week.
"""

import email
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from agents.worklist import monday_of
from casewatch.delivery.config import Worklist as WorklistSettings
from casewatch.delivery.config import load_routing
from casewatch.delivery.outbox import enqueuer, list_notifications
from casewatch.delivery.worklists import due_week, notification_key
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.integration.support import wait_until
from tests.test_delivery.support import DispatcherProcess, HttpReceiver, smtp_server, write_config
from tests.test_delivery.test_channels import validate_card

FAST = {"backoff_initial": "50ms", "backoff_max": "200ms", "lease": "4s", "poll_interval": "100ms",
        "timer_interval": "200ms"}  # fmt: skip


def _mails(messages: list[object]) -> list[EmailMessage]:
    return [email.message_from_bytes(m.content, policy=default_policy) for m in messages]  # type: ignore[attr-defined]


def test_each_team_s_worklist_reaches_teams_and_email_exactly_once_despite_a_killed_dispatcher(
    database_url: str, tmp_path: Path
) -> None:
    week = due_week(datetime.now(UTC), WorklistSettings())  # the list the dispatcher sends on starting
    wednesday = (monday_of(week) + timedelta(days=2)).isoformat()
    alerts = [
        make_alert("e1", child_id="C1", day=wednesday, delivery="worklist", link="https://lcs.example/child/C1"),
        make_alert("e2", child_id="C1", day=wednesday, delivery="worklist", rule="agreement_review_overdue"),
        make_alert("e3", child_id="C2", day=wednesday, delivery="worklist", severity="low"),
        make_alert("a1", child_id="C3", team="Assessment", day=wednesday, delivery="worklist"),
        make_alert("r1", child_id="C4", team="Assessment", day=wednesday, delivery="report"),
    ]
    with HttpReceiver(hold_request=1) as teams, smtp_server(tmp_path, user="casewatch", password="pw") as smtp:
        mailbox, port, cert = smtp
        config_path = write_config(tmp_path, {
            "route": {"receiver": "managers-teams", "group_wait": "0s", "routes": [
                {"matchers": ["delivery=worklist"], "receiver": "managers-teams", "continue": True},
                {"matchers": ["delivery=worklist"], "receiver": "managers-email"},
            ]},
            "receivers": [
                {"name": "managers-teams",
                 "teams": {"url_env": "TEAMS_URL", "timeout": "1900ms", "allow_plain_http": True}},
                {"name": "managers-email", "email": {
                    "host": "127.0.0.1", "port": port, "username": "casewatch", "password_env": "SMTP_PASSWORD",
                    "from": "casewatch@council.example", "to": ["managers@council.example"], "ca_file": str(cert),
                    "timeout": "1900ms"}},
            ],
            "delivery": FAST,
            "worklist": {},
        })  # fmt: skip
        engine = connect(database_url)
        upsert_alerts(engine=engine, alerts=alerts, on_stored=enqueuer(load_routing(config_path)))
        env = dict(os.environ, CASEWATCH_DATABASE_URL=database_url, CASEWATCH_CONFIG=str(config_path),
                   TEAMS_URL=teams.url, SMTP_PASSWORD="pw")  # fmt: skip

        first = DispatcherProcess(env, tmp_path / "dispatcher-1.log").start()
        try:
            assert teams.holding.wait(90), first.describe()
            first.kill()  # mid-send: the first Teams post is in flight, unanswered
        finally:
            first.stop()
        teams.release()
        again = [DispatcherProcess(env, tmp_path / f"dispatcher-{i}.log").start() for i in (2, 3)]
        try:
            wait_until(lambda: len(teams.accepted()) >= 2 and len(mailbox.messages) >= 2, 90,
                       lambda: "".join(d.describe() for d in again))  # fmt: skip
            time.sleep(1.0)  # room for a duplicate to show, were there one
        finally:
            for dispatcher in again:
                dispatcher.stop()
        later = subprocess.run([sys.executable, "-m", "casewatch", "dispatch", "--once", "--metrics-port", "0"],
                               env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert later.returncode == 0 and later.stdout.startswith("handled 0 notifications"), later
        accepted, mails = teams.accepted(), _mails(mailbox.messages)

    # Two teams had alerts: one list each per receiver, each accepted once (the killed post resent).
    assert teams.received[0].status == 503  # the post in flight when the first dispatcher died
    keys = Counter(r.headers["Idempotency-Key"] for r in accepted)
    assert set(keys.values()) == {1} and len(keys) == 2, keys
    expected = {notification_key(team, week, "managers-teams") for team in ("CIN East", "Assessment")}
    assert set(keys) == expected
    cards = {}
    for request in accepted:
        card = request.json()["attachments"][0]["content"]
        validate_card(card)
        cards[card["body"][0]["text"].split(",")[0]] = card
    east = [c["items"][0]["text"] for c in cards["Worklist CIN East"]["body"] if c["type"] == "Container"]
    assert [text.split(" · ")[1] for text in east] == ["child C1", "child C2"]  # C1's two findings on one line
    assert "Open case record" in json.dumps(cards["Worklist CIN East"])
    assert sorted(m["Message-ID"] for m in mails) == sorted(
        f"<{notification_key(team, week, 'managers-email')}@casewatch>" for team in ("CIN East", "Assessment")
    )
    assert all(m["Subject"].startswith("[casewatch] Worklist ") for m in mails)
    rows = [r for r in list_notifications(engine) if r.kind == "worklist"]
    assert sorted((r.group_labels["team"], r.receiver, r.status) for r in rows) == [
        ("Assessment", "managers-email", "sent"), ("Assessment", "managers-teams", "sent"),
        ("CIN East", "managers-email", "sent"), ("CIN East", "managers-teams", "sent"),
    ]  # fmt: skip
    assert not [r for r in list_notifications(engine) if r.kind != "worklist"]  # nothing immediate was routed
