"""Storage on SQLite and PostgreSQL: upserts, the outbox hook's transaction, and the Alembic schema."""

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, select

# The delivery, timeline and signed-out tables join the metadata compared below.
import casewatch.delivery.tables
import casewatch.http.signed_out
import casewatch.timeline  # noqa: F401
from casewatch.migrations import head
from casewatch.storage import StoredAlert, alerts_table, connect, count_alerts, list_alerts, metadata, upsert_alerts
from tests.alerts import make_alert


def test_upsert_inserts_then_versions_changes_and_ignores_identical_redelivery(database_url: str) -> None:
    engine = connect(database_url)
    first, second = make_alert("a"), make_alert("b", child_id="C2002", day="2024-06-01")
    assert upsert_alerts(engine=engine, alerts=[first, second]) == 2
    upsert_alerts(engine=engine, alerts=[first])  # identical redelivery
    changed = first.model_copy(update={"severity": "medium"})
    upsert_alerts(engine=engine, alerts=[changed])

    assert count_alerts(engine=engine) == 2
    assert [a.alert_id for a in list_alerts(engine=engine)] == [second.alert_id, first.alert_id]  # newest first
    assert list_alerts(engine=engine, child_id="C1001") == [changed]
    with engine.connect() as connection:
        versions = dict(connection.execute(select(alerts_table.c.alert_id, alerts_table.c.versions)).all())
    assert versions == {first.alert_id: 2, second.alert_id: 1}
    engine.dispose()


def test_a_team_level_alert_without_a_child_is_stored_and_listed(database_url: str) -> None:
    engine = connect(database_url)  # migrated to head: 0003 lets alerts.child_id be null
    team = make_alert("team", rule="team_rereferral_rate_high", child_id=None, facts={"month": "2024-04"})
    upsert_alerts(engine=engine, alerts=[team, make_alert("child")])
    assert list_alerts(engine=engine, rule="team_rereferral_rate_high") == [team]
    assert count_alerts(engine=engine) == 2
    engine.dispose()


def test_the_hook_sees_only_new_or_changed_alerts_inside_the_same_transaction(database_url: str) -> None:
    engine = connect(database_url)
    seen: list[list[tuple[str, int]]] = []

    def hook(connection: Connection, stored: list[StoredAlert], now: datetime) -> None:
        # The rows are visible on the hook's connection: it runs inside the upsert's transaction.
        assert connection.execute(select(alerts_table.c.alert_id)).scalars().all()
        seen.append(sorted((s.alert.alert_id[:4], s.version) for s in stored))

    a, b = make_alert("a"), make_alert("b")
    upsert_alerts(engine=engine, alerts=[a], on_stored=hook)
    upsert_alerts(engine=engine, alerts=[a, b, a.model_copy(update={"severity": "low"})], on_stored=hook)
    upsert_alerts(engine=engine, alerts=[b], on_stored=hook)  # nothing new: no call
    assert seen == [[(a.alert_id[:4], 1)], sorted([(a.alert_id[:4], 2), (b.alert_id[:4], 1)])]

    def failing(connection: Connection, stored: list[StoredAlert], now: datetime) -> None:
        raise RuntimeError("outbox write failed")

    with pytest.raises(RuntimeError):
        upsert_alerts(engine=engine, alerts=[make_alert("c")], on_stored=failing)
    assert count_alerts(engine=engine) == 2  # the alert went with its notifications: not stored at all
    engine.dispose()


def test_connect_migrates_to_head_and_the_schema_matches_the_metadata(database_url: str) -> None:
    engine = connect(database_url)
    connect(database_url).dispose()  # a second start finds the schema at head and changes nothing
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == head()
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_a_database_made_before_migrations_is_stamped_and_upgraded_keeping_its_alerts(database_url: str) -> None:
    legacy = create_engine(database_url)
    alerts_table.create(legacy)  # what the walking skeleton's create_all made
    alert = make_alert("old")
    with legacy.begin() as connection:
        now = datetime.now(UTC)
        connection.execute(
            alerts_table.insert().values(
                alert_id=alert.alert_id, rule=alert.rule, severity=alert.severity, child_id=alert.child_id,
                team=alert.team, occurred_at=alert.occurred_at, payload=alert.model_dump_json(), versions=1,
                first_stored_at=now, updated_at=now,
            )
        )  # fmt: skip
    legacy.dispose()
    engine = connect(database_url)
    assert list_alerts(engine=engine) == [alert]
    assert "notifications" in inspect(engine).get_table_names()
    engine.dispose()


def test_processes_starting_together_on_a_fresh_database_all_get_the_schema(database_url: str) -> None:
    script = "import sys; from casewatch.storage import connect; connect(sys.argv[1]).dispose()"
    starts = [subprocess.Popen([sys.executable, "-c", script, database_url], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [p.communicate(timeout=60)[1].decode() for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0], errors
