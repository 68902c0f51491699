"""The delivery commands as an operator runs them: `casewatch` processes on a real database."""

import json
import os
import subprocess
import sys
from pathlib import Path

from casewatch.delivery.config import load_routing
from casewatch.delivery.outbox import enqueuer
from casewatch.local_kafka import free_port
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.test_delivery.support import write_config


def casewatch(database_url: str, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CASEWATCH_DATABASE_URL=database_url, HOOK_SECRET="k")
    if config is not None:
        env["CASEWATCH_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "casewatch", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_failed_notification_is_listed_resent_and_delivered(database_url: str, tmp_path: Path) -> None:
    hook = {"url": f"http://127.0.0.1:{free_port()}/hook", "secret_env": "HOOK_SECRET", "allow_plain_http": True}
    unreachable = {"name": "ops", "webhook": hook}
    broken = write_config(tmp_path, {"route": {"receiver": "ops", "group_wait": "0s"}, "receivers": [unreachable],
                                     "delivery": {"max_attempts": 1}})  # fmt: skip
    engine = connect(database_url)
    alert = make_alert("cli", link="https://lcs.example/child/C1001")
    upsert_alerts(engine=engine, alerts=[alert], on_stored=enqueuer(load_routing(broken)))
    engine.dispose()

    first = casewatch(database_url, "dispatch", "--once", config=broken)
    assert first.returncode == 0 and "handled 1 notifications" in first.stdout, first.stderr
    failed = casewatch(database_url, "notifications", "--failed")
    assert "failed" in failed.stdout and "cannot reach the receiver" in failed.stdout
    assert "casewatch notifications resend ID" in failed.stdout

    fixed = write_config(tmp_path, {"route": {"receiver": "ops"}, "receivers": [{"name": "ops", "console": {}}]})
    resent = casewatch(database_url, "notifications", "resend", "1", "--by", "ops.engineer")
    assert resent.returncode == 0, resent.stderr
    second = casewatch(database_url, "dispatch", "--once", config=fixed)
    assert f"child {alert.child_id} team CIN East on 2024-05-02" in second.stdout
    assert "agreement_id=wa-1" in second.stdout and "https://lcs.example/child/C1001" in second.stdout
    assert casewatch(database_url, "notifications", "--failed").stdout.strip() == "No failed notifications."


def test_silences_are_added_listed_and_removed(database_url: str) -> None:
    added = casewatch(database_url, "silence", "add", 'team="CIN East"', "rule=~rereferral.*", "--for", "2h",
                      "--by", "team.manager")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith('silence 1 mutes team="CIN East" rule=~"rereferral.*" until ')
    listed = casewatch(database_url, "silence", "list")
    assert "active" in listed.stdout and "team.manager" in listed.stdout
    assert casewatch(database_url, "silence", "remove", "1", "--by", "team.manager").returncode == 0
    assert casewatch(database_url, "silence", "list").stdout.strip() == "No silences."
    assert "removed" in casewatch(database_url, "silence", "list", "--all").stdout
    bad = casewatch(database_url, "silence", "add", "team", "--by", "team.manager")
    assert bad.returncode == 1 and "a matcher is written name=value" in bad.stderr


def test_an_alert_is_assigned_acknowledged_and_resolved_with_its_history(database_url: str) -> None:
    engine = connect(database_url)
    alert = make_alert("life")
    upsert_alerts(engine=engine, alerts=[alert])  # stored before delivery existed: no lifecycle row yet
    engine.dispose()
    steps = [
        ("assign", "--to", "social.worker", "--by", "team.manager"),
        ("ack", "--by", "social.worker"),
        ("resolve", "--by", "team.manager", "--outcome", "not a concern", "--note", "seen in supervision"),
    ]
    for action, *options in steps:
        done = casewatch(database_url, "alert", action, alert.alert_id, *options)
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"alert {alert.alert_id}: resolved, assigned to social.worker"
    again = casewatch(database_url, "alert", "ack", alert.alert_id, "--by", "social.worker")
    assert again.returncode == 1 and "is resolved (by team.manager)" in again.stderr
    history = json.loads(casewatch(database_url, "alert", "history", alert.alert_id, "--format", "json").stdout)
    assert [(entry["actor"], entry["action"]) for entry in history] == [
        ("team.manager", "assign"), ("social.worker", "acknowledge"), ("team.manager", "resolve")
    ]  # fmt: skip
    resolved = json.dumps(history[2])
    assert "not a concern" in resolved and "supervision" not in resolved  # the note is not audited
    unlisted = casewatch(database_url, "alert", "resolve", "0" * 32, "--by", "x", "--outcome", "fine")
    assert unlisted.returncode == 1 and "outcome: must be one of" in unlisted.stderr
    unknown = casewatch(database_url, "alert", "ack", "0" * 32, "--by", "x")
    assert unknown.returncode == 1 and "no alert" in unknown.stderr


def test_a_bad_routing_section_stops_the_dispatcher_at_start_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"route": {"receiver": "ops", "group_wait": "later"},
                                     "receivers": [{"name": "ops", "console": {}}]})  # fmt: skip
    result = casewatch(f"sqlite:///{tmp_path / 'x.db'}", "dispatch", "--once", config=config)
    assert result.returncode == 2
    assert "setting error" in result.stderr and "routing.route.group_wait: must be a duration" in result.stderr


def test_worklist_shows_each_team_s_list_of_a_week_as_the_dispatcher_builds_it(database_url: str) -> None:
    engine = connect(database_url)
    alerts = [
        make_alert("w1", child_id="C1", day="2024-02-13", delivery="worklist"),
        make_alert("w2", child_id="C1", day="2024-02-14", delivery="worklist", rule="agreement_review_overdue"),
        make_alert("w3", child_id="C2", team="Assessment", day="2024-02-08", delivery="worklist"),
    ]
    upsert_alerts(engine=engine, alerts=alerts)
    engine.dispose()
    shown = casewatch(database_url, "worklist", "--week", "2024-W07", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    lists = {found["team"]: found for found in json.loads(shown.stdout)}
    assert [line["child_id"] for line in lists["CIN East"]["lines"]] == ["C1"]
    assert lists["CIN East"]["lines"][0]["rules"] == ["agreement_review_overdue", "rereferral_after_agreement"]
    assert lists["Assessment"]["lines"][0]["mark"] == "open"  # raised in week 6: still open in week 7
    table = casewatch(database_url, "worklist", "--week", "2024-W07", "--team", "CIN East")
    assert table.stdout.startswith("CIN East, week 2024-W07: 1 lines (1 new, 0 still open, 0 overdue)")
    bad = casewatch(database_url, "worklist", "--week", "2024-7")
    assert bad.returncode == 2 and "not an ISO week" in bad.stderr
