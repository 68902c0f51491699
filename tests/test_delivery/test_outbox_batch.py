"""A batch stored at once leaves the rows that storing its alerts one at a time leaves.

The outbox routes a whole batch in one statement per table; these tests hold it to the
per-alert semantics: joining a group's open notification, opening one after the group's
last flush (group_wait, group_interval), notify_on_change, delivery classes, versions.
"""

from datetime import timedelta

from sqlalchemy import Engine, delete, select

from benchmarks.outbox import digest, send_due, synthetic_alerts
from casewatch.delivery.config import parse_routing
from casewatch.delivery.outbox import enqueuer
from casewatch.delivery.tables import alert_lifecycle, notification_alerts, notifications
from casewatch.storage import alerts_table, connect, upsert_alerts
from schemas.alerts import Alert
from tests.test_delivery.support import T0

CONFIG = parse_routing(
    {
        "route": {
            "receiver": "qa",
            "group_by": ["team", "rule"],
            "group_wait": "30s",
            "group_interval": "5m",
            "routes": [
                {"matchers": ["severity=high"], "receiver": "managers", "continue": True, "notify_on_change": False},
                {"matchers": ['team=~"CIN .*"'], "receiver": "cin"},
                {"matchers": ["rule=rereferral_after_agreement"], "receiver": "case-system", "group_by": ["child_id"]},
            ],
        },
        "receivers": [{"name": n, "console": {}} for n in ("qa", "managers", "cin", "case-system")],
    }
)
BATCH_AT = T0 + timedelta(minutes=2)


def scenario(engine: Engine, *, one_at_a_time: bool) -> set[str]:
    """Groups sent before the batch, groups with an open notification, new groups; then the batch (its ids)."""
    alerts = synthetic_alerts(2400, teams=40)
    hook = enqueuer(CONFIG)
    upsert_alerts(engine=engine, alerts=alerts[:600], on_stored=hook, now=T0)
    send_due(engine, T0 + timedelta(minutes=1))  # their groups flushed at T0+30s
    upsert_alerts(engine=engine, alerts=alerts[600:660], on_stored=hook, now=T0 + timedelta(seconds=90))
    # New alerts, new versions of stored ones (every tenth), worklist-class ones; ids unique.
    batch: list[Alert] = list({a.alert_id: a for a in alerts[660:2400]}.values())
    if one_at_a_time:
        for alert in batch:
            upsert_alerts(engine=engine, alerts=[alert], on_stored=hook, now=BATCH_AT)
    else:
        upsert_alerts(engine=engine, alerts=batch, on_stored=hook, now=BATCH_AT)
    return {a.alert_id for a in batch}


def wipe(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in (notification_alerts, notifications, alert_lifecycle, alerts_table):
            connection.execute(delete(table))


def test_a_batch_with_many_groups_leaves_the_rows_of_its_alerts_stored_one_at_a_time(database_url: str) -> None:
    engine = connect(database_url)
    try:
        scenario(engine, one_at_a_time=True)
        expected = digest(engine)
        wipe(engine)
        batch = scenario(engine, one_at_a_time=False)
        assert digest(engine) == expected

        # The batch met every case: groups it joined, and groups it opened after a last
        # flush (T0+30s + group_interval) or for the first time (its time + group_wait).
        n = notifications.c
        with engine.connect() as connection:
            opened = connection.execute(select(n.flush_at).where(n.created_at == BATCH_AT)).scalars().all()
            joined = connection.execute(
                select(notification_alerts.c.alert_id)
                .join(notifications, n.id == notification_alerts.c.notification_id)
                .where(n.created_at < BATCH_AT, notification_alerts.c.alert_id.in_(batch))
            ).all()
        assert opened.count(T0 + timedelta(seconds=30) + timedelta(minutes=5)) > 10
        assert opened.count(BATCH_AT + timedelta(seconds=30)) > 10
        assert len(opened) > 100
        assert len(joined) > 100
    finally:
        engine.dispose()
