import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from agents.replay import replay
from agents.rules import RulesConfig
from casewatch.storage import alerts_table, connect, count_alerts, list_alerts, reading, upsert_alerts
from tests.test_agents.events import agreement, referral


def alerts_for(*events):  # type: ignore[no-untyped-def]
    return list(replay(list(events), RulesConfig()).alerts.values())


def test_upsert_is_idempotent_and_updates_changed_alerts(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'sub' / 'alerts.db'}")
    first = alerts_for(agreement("2024-01-10", "A"), referral("2024-05-02"))
    upsert_alerts(engine=engine, alerts=first)
    upsert_alerts(engine=engine, alerts=first)
    assert count_alerts(engine=engine) == 1

    updated = alerts_for(agreement("2024-01-10", "A"), agreement("2024-03-01", "B"), referral("2024-05-02"))
    assert updated[0].alert_id == first[0].alert_id
    upsert_alerts(engine=engine, alerts=updated)
    (stored,) = list_alerts(engine=engine)
    assert stored.facts["agreement_id"] == "B"


def test_list_filters(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'alerts.db'}")
    upsert_alerts(
        engine=engine,
        alerts=alerts_for(
            agreement("2024-01-10", "A", child="C1"),
            referral("2024-05-02", child="C1"),
            agreement("2024-01-10", "B", child="C2", team="CIN West"),
            referral("2024-06-02", child="C2"),
        ),
    )
    assert [a.child_id for a in list_alerts(engine=engine)] == ["C2", "C1"]
    assert [a.child_id for a in list_alerts(engine=engine, team="CIN West")] == ["C2"]
    assert [a.child_id for a in list_alerts(engine=engine, child_id="C1")] == ["C1"]
    assert list_alerts(engine=engine, rule="other") == []
    assert len(list_alerts(engine=engine, limit=1)) == 1


def test_a_reader_holds_no_write_lock_and_a_writer_does(tmp_path: Path) -> None:
    # A poll of the alerts (the benchmark's, a test's) must not stall the worker's stores.
    path = tmp_path / "alerts.db"
    engine = connect(f"sqlite:///{path}")
    upsert_alerts(engine=engine, alerts=alerts_for(agreement("2024-01-10", "A"), referral("2024-05-02")))
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)

    def can_write() -> bool:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked"
            return False
        other.execute("ROLLBACK")
        return True

    with reading(engine) as connection:
        assert connection.execute(select(func.count()).select_from(alerts_table)).scalar_one() == 1
        assert connection.in_transaction()
        assert can_write()
    with engine.connect() as connection:  # any other connection begins by taking the lock
        connection.execute(select(func.count()).select_from(alerts_table)).scalar_one()
        assert not can_write()
    assert can_write()
    other.close()
