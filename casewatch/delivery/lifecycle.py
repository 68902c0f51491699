"""What people do with an alert (acknowledge, assign, resolve), escalation when nobody
does, and the audit log that records every change: who, when, what.

An alert opens when the worker stores it. Acknowledging it says someone is on it:
reminders and escalation stop. Resolving closes it: it is no longer sent at all.
Escalation sends an alert still open `escalate_after` after it opened to the route's
`escalate_to` receiver, once; the dispatcher runs it on its clock.
"""

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select, update

from casewatch.access import ACTOR
from casewatch.delivery import outbox, routing
from casewatch.delivery.allowlist import labels_of, parse_payload
from casewatch.delivery.tables import alert_lifecycle, audit_log
from casewatch.storage import alerts_table, reading

Action = Literal["acknowledge", "assign", "resolve"]
SYSTEM_ACTOR = "casewatch"


class LifecycleError(ValueError):
    """The change cannot be made (bad actor, bad matcher...); the message says why."""


class UnknownSubject(LifecycleError):
    """No such alert, silence or notification."""


class Conflict(LifecycleError):
    """The subject's state forbids the change (already resolved, not failed...)."""


class OtherTeam(LifecycleError):
    """The alert belongs to a team the actor does not see."""


# The resolver's own words, kept in alert_lifecycle.note only (never an audit entry, channel or log).
MAX_NOTE_CHARS = 200


def check_actor(actor: str, what: str = "--by") -> str:
    if not ACTOR.match(actor):
        raise LifecycleError(f"{what} must be a user name or address (letters, digits, . _ @ + -), at most 64")
    return actor


def audit(
    connection: Connection,
    *,
    actor: str,
    action: str,
    subject: str,
    subject_id: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    connection.execute(
        audit_log.insert().values(
            at=now, actor=actor, action=action, subject=subject, subject_id=subject_id,
            detail=json.dumps(detail, sort_keys=True, default=str),
        )
    )  # fmt: skip


@dataclass(frozen=True)
class AlertState:
    alert_id: str
    status: str
    assignee: str | None
    acknowledged_by: str | None
    resolved_by: str | None
    escalated_at: datetime | None
    outcome: str | None = None


def change(
    engine: Engine,
    alert_id: str,
    action: Action,
    *,
    actor: str,
    now: datetime,
    assignee: str | None = None,
    outcome: str | None = None,
    note: str | None = None,
    teams: Collection[str] | None = None,
    outcomes: Collection[str] | None = None,
) -> AlertState:
    """Apply one lifecycle action and audit it, in one transaction.

    `teams`, when given, are the teams the actor sees: an alert of another team is refused.
    A resolution carries an `outcome` (audited), one of `outcomes` when they are given, and
    may carry a `note` (stored, never audited)."""
    check_actor(actor)
    if action == "assign":
        check_actor(assignee or "", "the assignee")
    if action == "resolve" and outcomes is not None and outcome not in outcomes:
        raise LifecycleError(f"outcome: must be one of {', '.join(outcomes)}")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise LifecycleError(f"a note is at most {MAX_NOTE_CHARS} characters")
    life = alert_lifecycle.c
    with engine.begin() as connection:
        check_team(connection, alert_id, teams)
        connection.execute(
            outbox.dialect_insert(connection)(alert_lifecycle)
            .values(alert_id=alert_id, status="open", opened_at=now)
            .on_conflict_do_nothing(index_elements=["alert_id"])
        )  # an alert stored before delivery existed has no lifecycle yet
        before = connection.execute(select(alert_lifecycle).where(life.alert_id == alert_id)).one()
        values = _transition(before, action, actor=actor, assignee=assignee, now=now)
        if action == "resolve":
            values |= {"outcome": outcome, "note": note or None}
        connection.execute(update(alert_lifecycle).where(life.alert_id == alert_id).values(**values))
        detail = {k: {"from": getattr(before, k), "to": v} for k, v in values.items()
                  if not k.endswith("_at") and k != "note"}  # fmt: skip
        audit(connection, actor=actor, action=action, subject="alert", subject_id=alert_id, detail=detail, now=now)
        after = connection.execute(select(alert_lifecycle).where(life.alert_id == alert_id)).one()
    return AlertState(after.alert_id, after.status, after.assignee, after.acknowledged_by, after.resolved_by,
                      after.escalated_at, after.outcome)  # fmt: skip


def check_team(connection: Connection, alert_id: str, teams: Collection[str] | None) -> None:
    """UnknownSubject for no such alert; OtherTeam when it is of a team not in `teams` (None: all)."""
    team = connection.execute(select(alerts_table.c.team).where(alerts_table.c.alert_id == alert_id)).scalar()
    if team is None:
        raise UnknownSubject(f"no alert {alert_id}")
    if teams is not None and team not in teams:
        raise OtherTeam(f"alert {alert_id} is not of a team you see")


def _transition(before: Any, action: Action, *, actor: str, assignee: str | None, now: datetime) -> dict[str, Any]:
    """The columns an action changes; refuses what makes no sense (acting on a resolved alert)."""
    if before.status == "resolved":
        raise Conflict(f"alert {before.alert_id} is resolved (by {before.resolved_by})")
    if action == "acknowledge":
        if before.status == "acknowledged":
            raise Conflict(f"alert {before.alert_id} is already acknowledged (by {before.acknowledged_by})")
        return {"status": "acknowledged", "acknowledged_by": actor, "acknowledged_at": now}
    if action == "assign":
        return {"assignee": assignee}
    return {"status": "resolved", "resolved_by": actor, "resolved_at": now}


def escalate_due(
    engine: Engine, tree: routing.RouteNode, now: datetime, *, notify_classes: Collection[str] = ("immediate",)
) -> int:
    """Send alerts open past their route's `escalate_after` to its `escalate_to`; returns how many.

    Only alerts whose class gets its own message escalate (or stored before classes existed):
    a worklist or report alert never becomes a message of its own, an escalation included.
    """
    shortest = routing.shortest_escalation(tree)
    if shortest is None:
        return 0
    a, life = alerts_table.c, alert_lifecycle.c
    query = (
        select(a.alert_id, a.payload, life.opened_at)
        .select_from(alerts_table.join(alert_lifecycle, life.alert_id == a.alert_id))
        .where(life.status == "open", life.escalated_at.is_(None), life.opened_at <= now - shortest)
    )
    with reading(engine) as connection:
        candidates = [
            routing.OpenAlert(r.alert_id, labels_of(parse_payload(r.payload)), r.opened_at)
            for r in connection.execute(query)
        ]
    candidates = [c for c in candidates if c.labels.get("delivery", "") in (*notify_classes, "")]
    by_alert: dict[str, list[routing.Destination]] = defaultdict(list)
    for alert_id, destination in routing.due_escalations(tree, candidates, now):
        by_alert[alert_id].append(destination)
    escalated = 0
    for alert_id, destinations in by_alert.items():
        with engine.begin() as connection:
            taken = connection.execute(
                update(alert_lifecycle)
                .where(life.alert_id == alert_id, life.status == "open", life.escalated_at.is_(None))
                .values(escalated_at=now)
            )
            if not taken.rowcount:
                continue  # acknowledged meanwhile, or another dispatcher escalated it
            for destination in destinations:
                outbox.add(connection, destination, kind="escalate", alert_ids=[alert_id], flush_at=now, now=now)
            receivers = sorted({d.receiver for d in destinations})
            audit(connection, actor=SYSTEM_ACTOR, action="escalate", subject="alert", subject_id=alert_id,
                  detail={"to": receivers}, now=now)  # fmt: skip
            escalated += 1
    return escalated


def resend_notification(engine: Engine, notification_id: int, *, actor: str, now: datetime) -> None:
    """Queue a failed notification again (same idempotency key, attempts from zero), audited."""
    check_actor(actor)
    with engine.begin() as connection:
        row = outbox.get_notification(connection, notification_id)
        if row is None:
            raise UnknownSubject(f"no notification {notification_id}")
        if not outbox.requeue(connection, notification_id, now=now):
            raise Conflict(f"notification {notification_id} is {row.status}; only a failed one is resent")
        detail = {"receiver": row.receiver, "last_error": row.last_error, "attempts": row.attempts}
        audit(connection, actor=actor, action="resend", subject="notification", subject_id=str(notification_id),
              detail=detail, now=now)  # fmt: skip


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject: str
    subject_id: str
    detail: dict[str, Any]


def audit_trail(engine: Engine, *, subject: str | None = None, subject_id: str | None = None) -> list[AuditEntry]:
    log = audit_log.c
    query = select(audit_log).order_by(log.id)
    if subject is not None:
        query = query.where(log.subject == subject)
    if subject_id is not None:
        query = query.where(log.subject_id == subject_id)
    with reading(engine) as connection:
        return [
            AuditEntry(r.at, r.actor, r.action, r.subject, r.subject_id, json.loads(r.detail))
            for r in connection.execute(query)
        ]


def scoped_audit_trail(engine: Engine, alert_id: str, *, teams: Collection[str] | None) -> list[AuditEntry]:
    """An alert's trail, for someone who sees `teams` (None: all): UnknownSubject or OtherTeam otherwise."""
    with reading(engine) as connection:
        check_team(connection, alert_id, teams)
    return audit_trail(engine, subject="alert", subject_id=alert_id)
