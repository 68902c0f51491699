"""The database schema as Alembic migrations, applied by `storage.connect()` when a process starts.

Two processes may start at once against a fresh database (a worker and a dispatcher), so
the upgrade runs under a lock: a transaction-scoped advisory lock on PostgreSQL; on SQLite
the transaction itself, which `storage.connect` begins IMMEDIATE (taking the write lock).
A database made before migrations existed (the alerts table from `create_all`) is stamped
at the first revision, which describes exactly that table, and then upgraded.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

FOLDER = Path(__file__).parent
FIRST_REVISION = "0001"
# Any fixed number: it names casewatch's migration lock among PostgreSQL advisory locks.
ADVISORY_LOCK_KEY = 0x6361_7365


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    config = alembic_config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        if _current(connection) == head():
            return
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "alerts" in tables and "alembic_version" not in tables:
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")


def revision(engine: Engine) -> str | None:
    """The schema's revision, read without changing anything: None when there is no schema yet
    (FIRST_REVISION for the alerts table made before migrations existed)."""
    with engine.connect() as connection:
        current = _current(connection)
        if current is None and "alerts" in inspect(connection).get_table_names():
            return FIRST_REVISION
        return current


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_known(name: str) -> bool:
    """Whether `name` is one of this version's revisions (not one a newer casewatch wrote)."""
    return name in {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
