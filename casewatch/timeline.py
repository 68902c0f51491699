"""Children's timelines in the database: one row per case event, ids, dates and codes only.

The worker's timeline consumer (agents/timeline_consumer.py) writes them; the managers'
page reads a child's; erasure deletes a child's and retention prunes old ones
(casewatch/erasure.py). The table is Alembic's revision 0005.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Engine, Index, String, Table, Text, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from agents.timeline import TimelineRow
from casewatch.storage import metadata, reading

timeline_events = Table(
    "timeline_events",
    metadata,
    Column("child_id", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("event_type", String(32), nullable=False),
    Column("team", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("item_id", String(128), nullable=True),
    Column("action", String(16), nullable=True),
    Column("codes", Text, nullable=False),  # JSON: the kept codes (agents.timeline.KEPT), never free text
    Column("stored_at", DateTime(timezone=True), nullable=False),  # what retention counts from
    Index("ix_timeline_events_child_occurred", "child_id", "occurred_at"),
    Index("ix_timeline_events_stored_at", "stored_at"),
)


def store_timeline(*, engine: Engine, rows: Sequence[TimelineRow], now: datetime | None = None) -> int:
    """Insert the rows in one transaction; a row whose (child, event id) is stored already is
    left as it is (a redelivered or forwarded event). Returns how many were new."""
    unique = {(r.child_id, r.event_id): r for r in rows}
    if not unique:
        return 0
    now = now or datetime.now(UTC)
    values = [
        {"child_id": r.child_id, "event_id": r.event_id, "event_type": r.event_type, "team": r.team,
         "occurred_at": r.occurred_at, "item_id": r.item_id, "action": r.action,
         "codes": json.dumps(r.codes, sort_keys=True), "stored_at": now}
        for r in unique.values()
    ]  # fmt: skip
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(timeline_events)
    statement = insert.on_conflict_do_nothing(index_elements=["child_id", "event_id"]).returning(
        timeline_events.c.event_id
    )
    with engine.begin() as connection:
        return len(connection.execute(statement, values).all())


def child_timeline(engine: Engine, *, child_id: str) -> list[TimelineRow]:
    """The child's stored events, newest first."""
    t = timeline_events.c
    query = select(timeline_events).where(t.child_id == child_id).order_by(t.occurred_at.desc(), t.event_id.desc())
    with reading(engine) as connection:
        return [_row(row._mapping) for row in connection.execute(query)]


def delete_child_timeline(connection: Connection, child_id: str) -> int:
    return connection.execute(delete(timeline_events).where(timeline_events.c.child_id == child_id)).rowcount


def prune_timeline(connection: Connection, *, stored_before: datetime) -> int:
    return connection.execute(delete(timeline_events).where(timeline_events.c.stored_at < stored_before)).rowcount


def _row(row: Any) -> TimelineRow:
    occurred = row["occurred_at"]  # SQLite gives the UTC time back naive, PostgreSQL in the session's zone
    return TimelineRow(
        event_id=row["event_id"],
        child_id=row["child_id"],
        event_type=row["event_type"],
        team=row["team"],
        occurred_at=occurred.replace(tzinfo=UTC) if occurred.tzinfo is None else occurred.astimezone(UTC),
        item_id=row["item_id"],
        action=row["action"],
        codes=json.loads(row["codes"]),
    )
