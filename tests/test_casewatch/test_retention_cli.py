"""`casewatch retention` prunes what is older than the period (issue 14, finding 5), through the real CLI:
alerts, notifications, audit rows and children's timeline events."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from agents.timeline import timeline_row
from casewatch.delivery.config import parse_routing
from casewatch.delivery.lifecycle import change
from casewatch.delivery.outbox import claim, enqueuer, finish
from casewatch.delivery.tables import audit_log, notifications
from casewatch.storage import connect, list_alerts, upsert_alerts
from casewatch.timeline import child_timeline, store_timeline
from tests.alerts import make_alert
from tests.integration.support import wait_until
from tests.test_agents.events import referral
from tests.test_delivery.support import DispatcherProcess, write_config

ROUTING = parse_routing({"route": {"receiver": "ops", "group_by": ["child_id"], "group_wait": "0s"},
                         "receivers": [{"name": "ops", "console": {}}]})  # fmt: skip


def test_alerts_notifications_and_audit_rows_past_the_period_are_pruned_and_recent_ones_stay(
    database_url: str,
) -> None:
    engine = connect(database_url)
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=5)
    for key, at in (("old", old), ("recent", recent)):
        upsert_alerts(engine=engine, alerts=[make_alert(key, child_id=f"C{key}")], on_stored=enqueuer(ROUTING), now=at)
        for held in claim(engine, owner="d", now=at, lease=timedelta(minutes=2), limit=10):
            finish(engine, held.id, owner="d", status="sent", now=at)
        change(engine, make_alert(key).alert_id, "acknowledge", actor="team.manager", now=at)
        # Counted from when it was stored, whatever the event's own date.
        store_timeline(engine=engine, rows=[timeline_row(referral("2024-01-02", child=f"C{key}"))], now=at)
    engine.dispose()

    done = subprocess.run([sys.executable, "-m", "casewatch", "retention", "--days", "30"],
                          env=dict(os.environ, CASEWATCH_DATABASE_URL=database_url), capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "older than 30 days: deleted 1 alerts, 1 notifications, 1 audit rows, 1 timeline events"
    )
    engine = connect(database_url)
    assert [a.child_id for a in list_alerts(engine=engine)] == ["Crecent"]
    assert child_timeline(engine, child_id="Cold") == []
    assert len(child_timeline(engine, child_id="Crecent")) == 1
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(notifications)).scalar_one() == 1
        assert connection.execute(select(func.min(audit_log.c.at))).scalar_one() >= now - timedelta(days=30)


def test_the_dispatcher_prunes_on_its_schedule_from_the_start(database_url: str, tmp_path: Path) -> None:
    engine = connect(database_url)
    at = datetime.now(UTC) - timedelta(days=40)
    upsert_alerts(engine=engine, alerts=[make_alert("old")], on_stored=enqueuer(ROUTING), now=at)
    for held in claim(engine, owner="d", now=at, lease=timedelta(minutes=2), limit=10):
        finish(engine, held.id, owner="d", status="sent", now=at)
    # Resolved, so the dispatcher sends no reminder about it (a reminder would keep it: still carried).
    change(engine, make_alert("old").alert_id, "resolve", actor="team.manager", now=at)
    config = write_config(tmp_path, {"route": {"receiver": "ops"}, "receivers": [{"name": "ops", "console": {}}]})
    env = dict(os.environ, CASEWATCH_DATABASE_URL=database_url, CASEWATCH_RETENTION_DAYS="30",
               CASEWATCH_CONFIG=str(config))  # fmt: skip
    dispatcher = DispatcherProcess(env, tmp_path / "d.log").start()
    try:
        wait_until(lambda: not list_alerts(engine=engine), 60, dispatcher.describe)
    finally:
        dispatcher.stop()
    assert "retention 30 days: deleted 1 alerts, 1 notifications, 1 audit rows" in dispatcher.describe()
