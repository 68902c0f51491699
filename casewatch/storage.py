"""Alerts in a relational database through SQLAlchemy: SQLite by default, PostgreSQL by URL.

The schema is Alembic's (casewatch/migrations); `metadata` mirrors it for queries, and a
test checks the two agree.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from casewatch.redaction import mask_database_url
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


class MissingDatabaseError(StorageError):
    """A command that only reads was pointed at a database casewatch has not migrated (or a SQLite file not there)."""


@dataclass(frozen=True)
class StoredAlert:
    """An alert the upsert inserted (version 1) or changed (a later version)."""

    alert: Alert
    version: int


# Runs inside the upsert's transaction with what it stored, so work that must not be lost
# with the alert (the delivery outbox) commits or rolls back with it.
StoredHook = Callable[[Connection, list[StoredAlert], datetime], None]


def connect(url: str, *, create: bool = True) -> Engine:
    """An engine with the schema migrated to the newest revision. SQLite folders are created as needed.

    With `create=False` (the commands that only read) nothing is created or changed: a SQLite
    file that is not there, a database without casewatch's tables, or one whose schema is older
    than this casewatch's, is an error that says to run `casewatch migrate`. A mistyped URL
    must not leave an empty database behind and report "no alerts", and a reader (a QA
    officer's report, a manager's worklist) must not change the schema under a running worker.
    """
    from casewatch.migrations import head, is_known, revision, upgrade_to_head

    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if not create and not path.is_file():
            raise MissingDatabaseError(
                f"no database at {path} (`casewatch migrate` creates it; the worker and dispatcher do too)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    # Bounded waits: SQLite for another writer's lock, PostgreSQL for a server that does not answer
    # (without it a command against an unreachable host waits for the operating system's TCP timeout).
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {"connect_timeout": 10})
    if engine.dialect.name not in ("sqlite", "postgresql"):
        raise StorageError(f"casewatch stores alerts in SQLite or PostgreSQL, not {engine.dialect.name}")
    if engine.dialect.name == "sqlite":
        _serialise_sqlite_writers(engine)
    if create:
        upgrade_to_head(engine)
        return engine
    found = revision(engine)
    if found != head():
        engine.dispose()
        where = mask_database_url(url)
        if found is None:
            raise MissingDatabaseError(
                f"no casewatch tables in the database at {where} (`casewatch migrate` creates them)"
            )
        if not is_known(found):
            raise MissingDatabaseError(
                f"the database at {where} has casewatch's schema {found}, which this version does not know"
                f" (it expects {head()}: a newer casewatch migrated it?)"
            )
        raise MissingDatabaseError(
            f"the database at {where} has casewatch's schema {found}, older than this version's {head()}"
            " (`casewatch migrate` brings it up to date)"
        )
    return engine


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Every SQLite transaction takes the write lock when it begins (BEGIN IMMEDIATE),
    unless its connection only reads (`reading`).

    The worker, dispatchers and the CLI share one file. A deferred transaction that reads,
    then writes after another process committed, fails at once instead of waiting; an
    immediate one waits its turn (up to the 30 s timeout). WAL lets readers run meanwhile,
    so a reader need not hold the lock, and must not: a poll of the alerts' count every
    50 ms (the benchmark's) took it twenty times a second from the worker's stores.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # the driver begins nothing itself; we do below
        if engine.url.database not in (None, "", ":memory:"):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        reads_only = connection.get_execution_options().get(_READS_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


_READS_ONLY = "casewatch_reads_only"


def reading(engine: Engine) -> Connection:
    """A connection for reads alone: on SQLite its transactions take no write lock."""
    return engine.connect().execution_options(**{_READS_ONLY: True})


def upsert_alerts(
    *, engine: Engine, alerts: Sequence[Alert], on_stored: StoredHook | None = None, now: datetime | None = None
) -> int:
    """Insert new alerts, update known ones (same alert_id) in one transaction; returns rows.

    `on_stored` gets the alerts actually inserted or changed (an identical redelivery is
    neither) and runs in the same transaction. `now` is the wall clock unless a test sets it.
    """
    if not alerts:
        return 0
    now = now or datetime.now(UTC)
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
    ).returning(alerts_table.c.alert_id, alerts_table.c.versions)
    with engine.begin() as connection:
        stored = connection.execute(statement, rows).all()
        if on_stored is not None and stored:
            on_stored(connection, [StoredAlert(latest[row.alert_id], row.versions) for row in stored], now)
    return len(rows)


def list_alerts(
    *, engine: Engine, rule: str | None = None, child_id: str | None = None, team: str | None = None, limit: int = 100
) -> list[Alert]:
    """Stored alerts, newest event first."""
    query = select(alerts_table.c.payload).order_by(alerts_table.c.occurred_at.desc(), alerts_table.c.alert_id)
    for column, value in (("rule", rule), ("child_id", child_id), ("team", team)):
        if value is not None:
            query = query.where(alerts_table.c[column] == value)
    with reading(engine) as connection:
        return [Alert.model_validate_json(row.payload) for row in connection.execute(query.limit(limit))]


def alert_exists(engine: Engine, alert_id: str) -> bool:
    with reading(engine) as connection:
        found = connection.execute(select(alerts_table.c.alert_id).where(alerts_table.c.alert_id == alert_id))
        return found.first() is not None


def count_alerts(*, engine: Engine) -> int:
    with reading(engine) as connection:
        return int(connection.execute(select(func.count()).select_from(alerts_table)).scalar_one())
