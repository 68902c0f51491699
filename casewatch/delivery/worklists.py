"""The weekly team worklist through the outbox: when it is due, who gets it, what it carries.

The dispatcher's timer calls `enqueue_worklists`. Once the list of week W is due (the
configured day and hour of the week after W, Europe/London), it builds every team's list
with `agents.worklist.build_worklists` from the stored alerts and the resolutions, and adds
one notification per team and receiver. Its idempotency key is derived from (team, week,
receiver) and unique in the outbox, so dispatchers that do this at the same moment, or
again after a restart, add each one once: a team gets one list a week per receiver.

The notification links the alerts on the team's list. When it is sent, the dispatcher
rebuilds the list from those alerts (`rebuild`), leaving out what was resolved or silenced
since, and hands it to the receiver's channel; a list with nothing open is sent too, so a
quiet week is seen to be quiet. A worklist goes to the receivers of the routes a label
set `{team, delivery=worklist}` reaches in the routing tree.
"""

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, exists, func, select

from agents.worklist import (
    LONDON,
    Worklist,
    build_worklists,
    earliest_open,
    monday_of,
    shift,
    week_end,
    week_of,
)
from casewatch.delivery import routing
from casewatch.delivery.allowlist import parse_payload
from casewatch.delivery.config import WEEKDAYS, RoutingConfig
from casewatch.delivery.config import Worklist as WorklistSettings
from casewatch.delivery.outbox import dialect_insert
from casewatch.delivery.tables import alert_lifecycle, notification_alerts, notifications
from casewatch.storage import alerts_table, reading
from schemas.alerts import Alert

KIND = "worklist"
log = logging.getLogger("casewatch.dispatcher")


def send_time(week: str, settings: WorklistSettings) -> datetime:
    """When the list of `week` goes: its `day` and `at` in the following week, London time."""
    hour, minute = (int(part) for part in settings.at.split(":"))
    day = monday_of(shift(week, 1)) + timedelta(days=WEEKDAYS.index(settings.day))
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def due_week(now: datetime, settings: WorklistSettings) -> str:
    """The newest week whose list is due at `now`."""
    week = shift(week_of(now), -1)
    return week if send_time(week, settings) <= now else shift(week, -1)


def notification_key(team: str, week: str, receiver: str) -> str:
    """The idempotency key of one team's list of one week for one receiver: the same in every dispatcher."""
    material = json.dumps(["worklist", team, week, receiver])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def week_group_key(week: str) -> str:
    return hashlib.sha256(json.dumps(["worklist", week]).encode()).hexdigest()[:32]


def receivers_of(tree: routing.RouteNode, team: str) -> list[tuple[routing.RouteNode, str]]:
    """(route, receiver) pairs a team's worklist goes to, each receiver once."""
    found: dict[str, routing.RouteNode] = {}
    for route in routing.matching_routes(tree, {"team": team, "delivery": KIND}):
        found.setdefault(route.receiver, route)
    return [(route, receiver) for receiver, route in found.items()]


def enqueue_worklists(engine: Engine, config: RoutingConfig, tree: routing.RouteNode, now: datetime) -> int:
    """Add the due week's lists, once; returns how many notifications were added."""
    settings = config.worklist
    if settings is None:
        return 0
    week = due_week(now, settings)
    group_key = week_group_key(week)
    n = notifications.c
    with reading(engine) as connection:
        if connection.execute(select(exists().where(n.kind == KIND, n.group_key == group_key))).scalar():
            return 0  # this week's lists are in the outbox already
    lists = stored_worklists(engine, config, week)
    added = 0
    with engine.begin() as connection:
        for team, worklist in lists.items():
            for route, receiver in receivers_of(tree, team):
                added += _add(connection, worklist, route=route, receiver=receiver, group_key=group_key, now=now)
    return added


def stored_worklists(engine: Engine, config: RoutingConfig, week: str) -> dict[str, Worklist]:
    """Every team's list of `week` from the stored alerts and their resolutions, as the dispatcher
    queues them (the equivalence test holds them against replay's)."""
    with reading(engine) as connection:
        alerts, resolved = _alerts_for(connection, week, config)
        teams = _teams_before(connection, week_end(week))
    configured = config.worklist_settings().teams
    return build_worklists(
        alerts, week, policy=config.worklist_policy(), resolved=resolved, teams=[*teams, *configured]
    )


def _alerts_for(connection: Connection, week: str, config: RoutingConfig) -> tuple[list[Alert], set[str]]:
    a, life = alerts_table.c, alert_lifecycle.c
    query = (
        select(a.payload, func.coalesce(life.status, "open").label("status"))
        .select_from(alerts_table.outerjoin(alert_lifecycle, life.alert_id == a.alert_id))
        .where(a.occurred_at < week_end(week))
    )
    since = earliest_open(week, config.worklist_policy())
    if since is not None:
        query = query.where(a.occurred_at >= since)
    alerts, resolved = [], set()
    for row in connection.execute(query):
        alert = as_alert(parse_payload(row.payload))
        if alert is None:
            continue
        alerts.append(alert)
        if row.status == "resolved":
            resolved.add(alert.alert_id)
    return alerts, resolved


def _teams_before(connection: Connection, end: datetime) -> list[str]:
    """Every team with an alert raised before `end`: each gets a list, an empty one if need be."""
    query = select(alerts_table.c.team).where(alerts_table.c.occurred_at < end).distinct()
    return sorted(connection.execute(query).scalars())


def _add(
    connection: Connection,
    worklist: Worklist,
    *,
    route: routing.RouteNode,
    receiver: str,
    group_key: str,
    now: datetime,
) -> int:
    row = {
        "idempotency_key": notification_key(worklist.team, worklist.week, receiver),
        "kind": KIND,
        "route": route.id,
        "receiver": receiver,
        "group_key": group_key,
        "group_labels": json.dumps({"team": worklist.team, "week": worklist.week}, sort_keys=True),
        "accepting": None,  # nothing joins a worklist once it is made
        "status": "pending",
        "flush_at": now,
        "due_at": now,
        "attempts": 0,
        "repeat_enqueued": True,  # never reminded: next week's list is the reminder
        "created_at": now,
    }
    statement = (
        dialect_insert(connection)(notifications)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(notifications.c.id)
    )
    notification_id = connection.execute(statement, row).scalar_one_or_none()
    if notification_id is None:
        return 0  # another dispatcher added it first
    ids = worklist.alert_ids()
    if ids:
        connection.execute(
            dialect_insert(connection)(notification_alerts).on_conflict_do_nothing(),
            [{"notification_id": notification_id, "alert_id": alert_id} for alert_id in ids],
        )
    return 1


def as_alert(payload: dict[str, Any]) -> Alert | None:
    """A stored alert as this version reads it: fields it does not know (a later schema's) are
    dropped, and one it cannot read is left off the list, logged by id, rather than stopping it."""
    try:
        return Alert.model_validate({k: v for k, v in payload.items() if k in Alert.model_fields})
    except ValidationError:
        log.warning("alert %s cannot be read for the worklist; left out", str(payload.get("alert_id"))[:32])
        return None


def rebuild(
    config: RoutingConfig, group: dict[str, str], alerts: Iterable[dict[str, Any]], exposed: Sequence[str]
) -> Worklist:
    """The list a worklist notification carries, from its alerts still to be shown, facts allow-listed."""
    team, week = group["team"], group["week"]
    allowed = set(exposed)
    shown = []
    for payload in alerts:
        facts = payload.get("facts")
        kept = {k: v for k, v in facts.items() if k in allowed} if isinstance(facts, dict) else {}
        # On this team's list whatever team an older finding named (the line is the child's, here).
        alert = as_alert({**payload, "facts": kept, "team": team})
        if alert is not None:
            shown.append(alert)
    return build_worklists(shown, week, policy=config.worklist_policy(), teams=[team])[team]
