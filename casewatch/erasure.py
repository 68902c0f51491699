"""Erasing a child, and pruning what is older than the retention period.

`erase_child` forgets one child everywhere casewatch can reach: the running workers are
told first (an "erase" message on the ticks topic, keyed by the child, which the correlate
agent handles by deleting the key from its table), a tombstone is written for the child's
key on the child-state changelog (so a worker that starts later rebuilds its table without
it), then the child's alerts and everything hanging from them (lifecycle, notifications,
their audit rows) and the child's timeline (its case events' rows) are deleted from the
database. The audit log records the erasure by an HMAC of the ID under a configured key:
the same child erased twice gives the same entry, and the ID cannot be read back from it.
What erasure cannot reach is in docs/security.md.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, delete, exists, not_, or_, select

from casewatch.delivery.lifecycle import audit, check_actor
from casewatch.delivery.tables import alert_lifecycle, audit_log, notification_alerts, notifications
from casewatch.settings import Settings, SettingsError
from casewatch.storage import alerts_table
from casewatch.timeline import delete_child_timeline, prune_timeline

MIN_KEY_CHARS = 32
# The child IDs casewatch accepts as keys; anything else cannot have state here.
CHILD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
FINISHED = ("sent", "failed", "muted")


@dataclass(frozen=True)
class Erasure:
    """What one erasure removed; `subject` is the keyed hash the audit log holds."""

    subject: str
    alerts: int
    notifications: int
    audit_rows: int
    tombstones: int
    timeline_events: int


@dataclass(frozen=True)
class Pruned:
    alerts: int
    notifications: int
    audit_rows: int
    timeline_events: int


def erasure_subject(child_id: str, key: str) -> str:
    return hmac.new(key.encode(), child_id.encode(), hashlib.sha256).hexdigest()


def erasure_key(settings: Settings) -> str:
    if not settings.erasure_key or len(settings.erasure_key) < MIN_KEY_CHARS:
        raise SettingsError(
            f"CASEWATCH_ERASURE_KEY must be set to at least {MIN_KEY_CHARS} characters: the audit log names "
            "an erased child by a keyed hash, never the ID (e.g. `openssl rand -hex 32`, kept secret)"
        )
    return settings.erasure_key


def check_child_id(child_id: str) -> str:
    if not CHILD_ID.match(child_id):
        raise ValueError("a child ID is letters, digits and . _ : - (at most 64 characters)")
    return child_id


def erase_child(settings: Settings, child_id: str, *, actor: str, now: datetime, engine: Engine) -> Erasure:
    """Erase `child_id` from the workers, the changelog and the database (in that order, so a
    worker cannot raise a new alert from the old state after its rows are gone)."""
    check_actor(actor)
    check_child_id(child_id)
    subject = erasure_subject(child_id, erasure_key(settings))
    tombstones = tell_kafka(settings, child_id)
    with engine.begin() as connection:
        alerts, sent, audited = delete_child_rows(connection, child_id)
        timeline = delete_child_timeline(connection, child_id)
        detail = {"alerts": alerts, "notifications": sent, "audit_rows": audited, "tombstones": tombstones,
                  "timeline_events": timeline}  # fmt: skip
        audit(connection, actor=actor, action="erase", subject="child", subject_id=subject, detail=detail, now=now)
    return Erasure(subject, alerts, sent, audited, tombstones, timeline)


def tell_kafka(settings: Settings, child_id: str) -> int:
    """The erase message to the workers and the changelog tombstone; returns the tombstones written."""
    from kafka import KafkaProducer

    from agents.live import ERASE_KIND
    from streams.topics import CHILD_STATE_TABLE

    if not settings.bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set: erasure must reach the workers' state")
    topics, key = settings.topics, child_id.encode()
    partition = topics.partition_for(child_id)  # the partition the child's events and state live on
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, client_id="casewatch-erase", acks="all",
                             **settings.kafka_security.client_options())  # fmt: skip
    try:
        producer.send(topics.ticks, key=key, value=json.dumps({"kind": ERASE_KIND}).encode(), partition=partition)
        changelogs = [spec.name for spec in topics.changelogs(settings.app_id) if CHILD_STATE_TABLE in spec.name]
        for topic in changelogs:
            producer.send(topic, key=key, value=None, partition=partition)
        producer.flush(60)
    finally:
        producer.close()
    return len(changelogs)


def delete_child_rows(connection: Connection, child_id: str) -> tuple[int, int, int]:
    """Delete the child's alerts, their lifecycle and audit rows, and the notifications about them."""
    ids = [
        r.alert_id
        for r in connection.execute(select(alerts_table.c.alert_id).where(alerts_table.c.child_id == child_id))
    ]
    if not ids:
        return 0, 0, 0
    carried = select(notification_alerts.c.notification_id).where(notification_alerts.c.alert_id.in_(ids))
    # A notification about this child goes, even if it carried other children's alerts too:
    # its group labels may name this child, and what it carried was sent long ago.
    notification_ids = [r.notification_id for r in connection.execute(carried.distinct())]
    audited = connection.execute(
        delete(audit_log).where(
            or_(
                and_(audit_log.c.subject == "alert", audit_log.c.subject_id.in_(ids)),
                and_(
                    audit_log.c.subject == "notification",
                    audit_log.c.subject_id.in_([str(n) for n in notification_ids]),
                ),
            )
        )
    ).rowcount
    connection.execute(delete(notification_alerts).where(notification_alerts.c.notification_id.in_(notification_ids)))
    connection.execute(delete(notification_alerts).where(notification_alerts.c.alert_id.in_(ids)))
    sent = connection.execute(delete(notifications).where(notifications.c.id.in_(notification_ids))).rowcount
    connection.execute(delete(alert_lifecycle).where(alert_lifecycle.c.alert_id.in_(ids)))
    alerts = connection.execute(delete(alerts_table).where(alerts_table.c.alert_id.in_(ids))).rowcount
    return alerts, sent, audited


def prune(engine: Engine, *, older_than: timedelta, now: datetime) -> Pruned:
    """Delete alerts last updated, finished notifications created, audit rows written and
    timeline events stored before `now - older_than`. A notification still to be sent, and the
    alerts it carries, stay."""
    cutoff = now - older_than
    n, na, a = notifications.c, notification_alerts.c, alerts_table.c
    with engine.begin() as connection:
        old_notifications = select(n.id).where(n.created_at < cutoff, n.status.in_(FINISHED))
        connection.execute(delete(notification_alerts).where(na.notification_id.in_(old_notifications)))
        sent = connection.execute(delete(notifications).where(n.id.in_(old_notifications))).rowcount
        still_carried = exists().where(na.alert_id == a.alert_id)
        old_alerts = select(a.alert_id).where(a.updated_at < cutoff, not_(still_carried))
        connection.execute(delete(alert_lifecycle).where(alert_lifecycle.c.alert_id.in_(old_alerts)))
        alerts = connection.execute(delete(alerts_table).where(a.alert_id.in_(old_alerts))).rowcount
        audited = connection.execute(delete(audit_log).where(audit_log.c.at < cutoff)).rowcount
        timeline = prune_timeline(connection, stored_before=cutoff)
    return Pruned(alerts, sent, audited, timeline)
