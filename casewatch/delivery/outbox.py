"""The notification outbox: what must be sent, claimed by dispatchers, and what became of it.

The worker adds notifications in the transaction that stores the alerts (`enqueuer`), so
an alert is never stored without them, nor they without it. Dispatchers `claim` due
notifications with a lease: `FOR UPDATE SKIP LOCKED` on PostgreSQL lets several claim at
once without waiting on each other; on SQLite the claim is one conditional UPDATE under
the database's write lock. Either way a notification has one holder at a time, and a
holder that dies (killed mid-send) loses it when its lease expires, so another resends it
with the same idempotency key.

Statuses: pending (waiting for its time), sending (claimed), sent, failed (parked after
the last attempt or a permanent error; `resend` puts it back), muted (every alert held
back by a silence, an inhibition, or because people already dealt with it).
"""

import functools
import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, exists, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from casewatch.delivery import routing
from casewatch.delivery.allowlist import labels_of, parse_payload
from casewatch.delivery.channels.base import Kind
from casewatch.delivery.config import RoutingConfig
from casewatch.delivery.tables import alert_lifecycle, notification_alerts, notifications
from casewatch.storage import StoredAlert, StoredHook, alerts_table, reading

UNDELIVERED = ("pending", "sending")
# A later notification of a group takes over as the reference for repeat_interval.
_REPEATABLE_KINDS = ("notify", "repeat")


def dialect_insert(connection: Connection) -> Any:
    """The INSERT with ON CONFLICT of this database (the two dialects spell it alike)."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def enqueuer(config: RoutingConfig) -> StoredHook:
    """The hook `storage.upsert_alerts` runs in its transaction: route alerts into notifications."""
    tree = routing.build_tree(config)
    notify_classes = frozenset(config.notify_classes)

    def enqueue(connection: Connection, stored: list[StoredAlert], now: datetime) -> None:
        enqueue_alerts(connection, stored, tree=tree, now=now, notify_classes=notify_classes)

    return enqueue


def enqueue_alerts(
    connection: Connection,
    stored: Sequence[StoredAlert],
    *,
    tree: routing.RouteNode,
    now: datetime,
    notify_classes: Collection[str] = frozenset({"immediate"}),
) -> int:
    """Open each new alert's lifecycle and, when its delivery class gets its own message
    (`notify_classes`), add it to its groups' notifications; returns how many were added.

    The others are stored with an open lifecycle only: a `worklist` alert reaches people
    as a line of its team's weekly worklist, a `report` alert in reports alone.

    One statement per table for the whole batch, whatever its number of groups: run per
    alert and group, the statements cost more than the routing (a batch at once stores
    3-4x faster on SQLite, 3x on PostgreSQL: docs/benchmarks.md, "Storing alerts").
    The rows are those of adding the alerts one at a time: every alert of a group joins
    the group's one open notification, and a group without one opens one, flushed after
    the group's last flush as it was before the batch.
    """
    if not stored:
        return 0
    statements = _statements(connection.dialect.name)
    connection.execute(
        statements.open_lifecycle, [{"alert_id": s.alert.alert_id, "status": "open", "opened_at": now} for s in stored]
    )
    routed = [
        (destination, item.alert.alert_id)
        for item in stored
        if item.alert.delivery in notify_classes
        for destination in routing.destinations(
            tree, labels_of(item.alert.model_dump(mode="json")), new=item.version == 1
        )
    ]
    if not routed:
        return 0
    groups: dict[tuple[str, str], routing.Destination] = {}  # in the order alerts first reach them
    for destination, _ in routed:
        groups.setdefault((destination.receiver, destination.group_key), destination)
    last = _last_flushes(connection, list(groups))
    opened = open_notifications(
        connection,
        [(d, routing.flush_time(now, last.get(group), d.route.timing)) for group, d in groups.items()],
        kind="notify",
        now=now,
    )
    _link(connection, [(opened[(d.receiver, d.group_key)], alert_id) for d, alert_id in routed])
    return len(routed)


_LAST_FLUSHES = (
    select(notifications.c.receiver, notifications.c.group_key, func.max(notifications.c.flush_at))
    .where(
        tuple_(notifications.c.receiver, notifications.c.group_key).in_(bindparam("groups", expanding=True)),
        notifications.c.kind.in_(_REPEATABLE_KINDS),
    )
    .group_by(notifications.c.receiver, notifications.c.group_key)
)
# Groups per look-up: 2 parameters each, well under SQLite's limit of 32,766 (a batch of
# 500 alerts with two routes each needs one look-up).
_LOOKUP_GROUPS = 4000


def _last_flushes(connection: Connection, groups: Sequence[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    """(receiver, group_key) -> the group's latest notify or repeat flush, for those that had one."""
    found: dict[tuple[str, str], datetime] = {}
    for start in range(0, len(groups), _LOOKUP_GROUPS):
        rows = connection.execute(_LAST_FLUSHES, {"groups": list(groups[start : start + _LOOKUP_GROUPS])})
        found.update({(receiver, group_key): last for receiver, group_key, last in rows})
    return found


@dataclass(frozen=True)
class _Statements:
    open_lifecycle: Any
    open_notification: Any
    link: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    """The outbox's upserts, built once per dialect and executed with parameters: building
    them anew for every alert cost more than running them (profiled: 378 alerts/s)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    open_notification = insert(notifications)
    return _Statements(
        open_lifecycle=insert(alert_lifecycle).on_conflict_do_nothing(index_elements=["alert_id"]),
        # Run with many rows, SQLAlchemy sends them as one multi-row INSERT .. RETURNING
        # ("insertmanyvalues"); the rows come back in no set order, hence receiver and group_key.
        open_notification=open_notification.on_conflict_do_update(
            index_elements=["receiver", "group_key", "kind", "accepting"],
            set_={"accepting": open_notification.excluded.accepting},  # no change: it is there to return the id
        ).returning(notifications.c.receiver, notifications.c.group_key, notifications.c.id),
        link=insert(notification_alerts).on_conflict_do_nothing(index_elements=["notification_id", "alert_id"]),
    )


def open_notifications(
    connection: Connection,
    groups: Sequence[tuple[routing.Destination, datetime]],
    *,
    kind: Kind,
    now: datetime,
) -> dict[tuple[str, str], int]:
    """The id of each group's open notification of this kind, opening one (flushed at the
    time given with it) where there is none; keyed by (receiver, group_key), one row per group."""
    rows = [
        {
            "idempotency_key": uuid.uuid4().hex,
            "kind": kind,
            "route": destination.route.id,
            "receiver": destination.receiver,
            "group_key": destination.group_key,
            "group_labels": json.dumps(destination.group_labels, sort_keys=True),
            "accepting": True,
            "status": "pending",
            "flush_at": flush_at,
            "due_at": flush_at,
            "attempts": 0,
            "repeat_enqueued": False,
            "created_at": now,
        }
        for destination, flush_at in groups
    ]
    returned = connection.execute(_statements(connection.dialect.name).open_notification, rows)
    return {(r.receiver, r.group_key): int(r.id) for r in returned}


def _link(connection: Connection, links: Iterable[tuple[int, str]]) -> None:
    rows = [{"notification_id": n, "alert_id": a} for n, a in dict.fromkeys(links)]
    if rows:
        connection.execute(_statements(connection.dialect.name).link, rows)


def add(
    connection: Connection,
    destination: routing.Destination,
    *,
    kind: Kind,
    alert_ids: Iterable[str],
    flush_at: datetime,
    now: datetime,
) -> int:
    """Put alerts in the group's open notification of this kind, opening one if there is none."""
    opened = open_notifications(connection, [(destination, flush_at)], kind=kind, now=now)
    notification_id = opened[(destination.receiver, destination.group_key)]
    _link(connection, [(notification_id, a) for a in alert_ids])
    return notification_id


@dataclass(frozen=True)
class Claimed:
    """A notification a dispatcher holds until `lease_until`."""

    id: int
    idempotency_key: str
    kind: Kind
    route: str
    receiver: str
    group_labels: dict[str, str]
    attempts: int


def claim(engine: Engine, *, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to `limit` due notifications (and any whose holder's lease ran out)."""
    n = notifications.c
    due = or_(and_(n.status == "pending", n.due_at <= now), and_(n.status == "sending", n.lease_until <= now))
    # FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has no row locks and SQLAlchemy leaves the
    # clause out there, where the single UPDATE runs under the database's write lock instead.
    # A MATERIALIZED CTE, not `id IN (subquery)`: PostgreSQL may run such a subquery again
    # for each row, and with SKIP LOCKED each run locks further rows, so LIMIT stops holding.
    chosen = (
        select(n.id)
        .where(due)
        .order_by(n.due_at, n.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("chosen")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    statement = (
        update(notifications)
        .where(n.id == chosen.c.id, due)
        .values(status="sending", accepting=None, attempts=n.attempts + 1, lease_until=now + lease, leased_by=owner)
        .returning(n.id, n.idempotency_key, n.kind, n.route, n.receiver, n.group_labels, n.attempts)
    )
    with engine.begin() as connection:
        rows = connection.execute(statement).all()
    return sorted(
        (
            Claimed(r.id, r.idempotency_key, r.kind, r.route, r.receiver, json.loads(r.group_labels), r.attempts)
            for r in rows
        ),
        key=lambda c: c.id,
    )


@dataclass(frozen=True)
class BatchAlert:
    alert_id: str
    payload: dict[str, Any]
    status: str  # lifecycle: open | acknowledged | resolved

    @property
    def labelled(self) -> routing.LabelledAlert:
        return routing.LabelledAlert(self.alert_id, labels_of(self.payload))


def batch_alerts(connection: Connection, notification_id: int) -> list[BatchAlert]:
    a, na, life = alerts_table.c, notification_alerts.c, alert_lifecycle.c
    query = (
        select(a.alert_id, a.payload, func.coalesce(life.status, "open").label("status"))
        .select_from(
            notification_alerts.join(alerts_table, na.alert_id == a.alert_id).outerjoin(
                alert_lifecycle, life.alert_id == a.alert_id
            )
        )
        .where(na.notification_id == notification_id)
        .order_by(a.occurred_at, a.alert_id)
    )
    return [BatchAlert(r.alert_id, parse_payload(r.payload), r.status) for r in connection.execute(query)]


def open_alerts_of_children(connection: Connection, child_ids: Iterable[str]) -> list[routing.LabelledAlert]:
    """Alerts not resolved about these children: the possible sources of an inhibition."""
    a, life = alerts_table.c, alert_lifecycle.c
    query = (
        select(a.alert_id, a.payload)
        .select_from(alerts_table.outerjoin(alert_lifecycle, life.alert_id == a.alert_id))
        .where(a.child_id.in_(sorted(set(child_ids))), func.coalesce(life.status, "open") != "resolved")
    )
    return [routing.LabelledAlert(r.alert_id, labels_of(parse_payload(r.payload))) for r in connection.execute(query)]


def _held(notification_id: int, owner: str) -> Any:
    n = notifications.c
    return and_(n.id == notification_id, n.status == "sending", n.leased_by == owner)


def finish(
    engine: Engine,
    notification_id: int,
    *,
    owner: str,
    status: str,
    now: datetime,
    muted: dict[str, str] | None = None,
    error: str | None = None,
) -> bool:
    """Record a final outcome (sent, failed, muted); False when the lease was lost meanwhile."""
    values: dict[str, Any] = {"status": status, "lease_until": None, "leased_by": None, "last_error": error}
    if status == "sent":
        values["sent_at"] = now
    with engine.begin() as connection:
        done = connection.execute(update(notifications).where(_held(notification_id, owner)).values(**values))
        if done.rowcount and muted:
            for alert_id, reason in muted.items():
                connection.execute(
                    update(notification_alerts)
                    .where(
                        notification_alerts.c.notification_id == notification_id,
                        notification_alerts.c.alert_id == alert_id,
                    )
                    .values(muted_by=reason[:64])
                )
    return bool(done.rowcount)


def retry_later(engine: Engine, notification_id: int, *, owner: str, due_at: datetime, error: str) -> bool:
    values = {"status": "pending", "due_at": due_at, "lease_until": None, "leased_by": None, "last_error": error}
    with engine.begin() as connection:
        result = connection.execute(update(notifications).where(_held(notification_id, owner)).values(**values))
    return bool(result.rowcount)


def enqueue_repeats(engine: Engine, tree: routing.RouteNode, now: datetime) -> int:
    """Remind groups whose last notification went `repeat_interval` ago of their open alerts."""
    n = notifications.c
    newer = aliased(notifications)
    candidates = select(n.id, n.route, n.receiver, n.group_key, n.group_labels, n.flush_at).where(
        n.kind.in_(_REPEATABLE_KINDS),
        n.status.in_(("sent", "muted")),
        n.repeat_enqueued.is_(False),
        n.flush_at <= now - routing.shortest_repeat(tree),
        ~exists().where(
            newer.c.receiver == n.receiver,
            newer.c.group_key == n.group_key,
            newer.c.kind.in_(_REPEATABLE_KINDS),
            newer.c.id > n.id,
        ),
    )
    with reading(engine) as connection:
        due = [r for r in connection.execute(candidates) if routing.repeat_due(tree, r.route, r.flush_at, now)]
    added = 0
    for row in due:
        route = routing.find_route(tree, row.route)
        with engine.begin() as connection:
            taken = connection.execute(
                update(notifications).where(n.id == row.id, n.repeat_enqueued.is_(False)).values(repeat_enqueued=True)
            )
            if not taken.rowcount or route is None:
                continue  # another dispatcher took it, or the route left the configuration
            still_open = _open_alerts_of_group(connection, row.receiver, row.group_key)
            if still_open:
                destination = routing.Destination(route, row.receiver, json.loads(row.group_labels))
                add(connection, destination, kind="repeat", alert_ids=still_open, flush_at=now, now=now)
                added += 1
    return added


def _open_alerts_of_group(connection: Connection, receiver: str, group_key: str) -> list[str]:
    n, na, life = notifications.c, notification_alerts.c, alert_lifecycle.c
    query = (
        select(na.alert_id)
        .distinct()
        .select_from(
            notification_alerts.join(notifications, n.id == na.notification_id).join(
                alert_lifecycle, life.alert_id == na.alert_id
            )
        )
        .where(n.receiver == receiver, n.group_key == group_key, life.status == "open")
        .order_by(na.alert_id)
    )
    return list(connection.execute(query).scalars())


@dataclass(frozen=True)
class NotificationRow:
    id: int
    kind: str
    receiver: str
    status: str
    attempts: int
    alerts: int
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    last_error: str | None
    group_labels: dict[str, str]


def list_notifications(engine: Engine, *, status: str | None = None, limit: int = 50) -> list[NotificationRow]:
    """Newest first, with how many alerts each carries."""
    n, na = notifications.c, notification_alerts.c
    count = select(func.count()).where(na.notification_id == n.id).scalar_subquery()
    query = select(
        n.id, n.kind, n.receiver, n.status, n.attempts, count.label("alerts"), n.created_at, n.due_at, n.sent_at,
        n.last_error, n.group_labels,
    ).order_by(n.id.desc()).limit(limit)  # fmt: skip
    if status is not None:
        query = query.where(n.status == status)
    with reading(engine) as connection:
        return [
            NotificationRow(**{**r._asdict(), "group_labels": json.loads(r.group_labels)})
            for r in connection.execute(query)
        ]


def get_notification(connection: Connection, notification_id: int) -> Any:
    return connection.execute(select(notifications).where(notifications.c.id == notification_id)).one_or_none()


def requeue(connection: Connection, notification_id: int, *, now: datetime) -> bool:
    """Send a failed notification again from its first attempt, with the same idempotency key."""
    n = notifications.c
    result = connection.execute(
        update(notifications)
        .where(n.id == notification_id, n.status == "failed")
        .values(status="pending", due_at=now, attempts=0, last_error=None)
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class OutboxStats:
    depth: int
    oldest_age: timedelta


def stats(engine: Engine, now: datetime) -> OutboxStats:
    n = notifications.c
    query = select(func.count(), func.min(n.created_at)).where(n.status.in_(UNDELIVERED))
    with reading(engine) as connection:
        depth, oldest = connection.execute(query).one()
    if oldest is None:
        return OutboxStats(0, timedelta(0))
    return OutboxStats(int(depth), max(timedelta(0), now - oldest))
