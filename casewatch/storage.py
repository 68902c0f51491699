"""Alerts in a relational database through SQLAlchemy: SQLite by default, PostgreSQL by URL."""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from schemas.alerts import Alert

metadata = MetaData()

alerts_table = Table(
    "alerts",
    metadata,
    Column("alert_id", String(32), primary_key=True),
    Column("rule", String(64), nullable=False, index=True),
    Column("severity", String(8), nullable=False),
    Column("child_id", String(64), nullable=True, index=True),  # null for a team-level alert
    Column("team", String(64), nullable=False, index=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
    Column("versions", Integer, nullable=False, default=1),
    Column("first_stored_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class StorageError(RuntimeError):
    """The database URL cannot be used."""


def connect(url: str) -> Engine:
    """An engine with the schema in place. SQLite folders are created as needed."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name not in ("sqlite", "postgresql"):
        raise StorageError(f"casewatch stores alerts in SQLite or PostgreSQL, not {engine.dialect.name}")
    metadata.create_all(engine)
    return engine


def upsert_alerts(*, engine: Engine, alerts: Sequence[Alert]) -> int:
    """Insert new alerts, update known ones (same alert_id) in one transaction; returns rows."""
    if not alerts:
        return 0
    now = datetime.now(UTC)
    # The latest version of each id wins within a batch, as it would across batches.
    latest = {a.alert_id: a for a in alerts}
    rows = [
        {
            "alert_id": a.alert_id,
            "rule": a.rule,
            "severity": a.severity,
            "child_id": a.child_id,
            "team": a.team,
            "occurred_at": a.occurred_at,
            "payload": a.model_dump_json(),
            "versions": 1,
            "first_stored_at": now,
            "updated_at": now,
        }
        for a in latest.values()
    ]
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(alerts_table)
    statement = insert.on_conflict_do_update(
        index_elements=["alert_id"],
        set_={
            "severity": insert.excluded.severity,
            "team": insert.excluded.team,
            "occurred_at": insert.excluded.occurred_at,
            "payload": insert.excluded.payload,
            "updated_at": insert.excluded.updated_at,
            "versions": alerts_table.c.versions + 1,
        },
        # A redelivered identical alert is not a new version.
        where=alerts_table.c.payload != insert.excluded.payload,
    )
    with engine.begin() as connection:
        connection.execute(statement, rows)
    return len(rows)


def list_alerts(
    *, engine: Engine, rule: str | None = None, child_id: str | None = None, team: str | None = None, limit: int = 100
) -> list[Alert]:
    """Stored alerts, newest event first."""
    query = select(alerts_table.c.payload).order_by(alerts_table.c.occurred_at.desc(), alerts_table.c.alert_id)
    for column, value in (("rule", rule), ("child_id", child_id), ("team", team)):
        if value is not None:
            query = query.where(alerts_table.c[column] == value)
    with engine.connect() as connection:
        return [Alert.model_validate_json(row.payload) for row in connection.execute(query.limit(limit))]


def count_alerts(*, engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(alerts_table)).scalar_one())
