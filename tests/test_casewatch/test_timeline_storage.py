"""Children's timelines in SQLite and PostgreSQL: stored once per event, read newest first,
erased with the child, pruned with the retention period."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from agents.timeline import timeline_row
from casewatch.erasure import delete_child_rows, prune
from casewatch.storage import connect
from casewatch.timeline import child_timeline, delete_child_timeline, store_timeline, timeline_events
from tests.test_agents.events import agreement, closure, referral


def test_rows_are_stored_once_per_event_and_read_newest_first_with_their_codes(database_url: str) -> None:
    engine = connect(database_url)
    made, breach = agreement("2024-01-10", "WA-1"), agreement("2024-03-02", "WA-1", action="breached")
    rows = [timeline_row(e) for e in (referral("2024-01-02"), made, breach, referral("2024-02-01", child="C2"))]
    assert store_timeline(engine=engine, rows=rows) == 4
    # A redelivery, the same event forwarded, and the same event twice in one batch: nothing new.
    assert store_timeline(engine=engine, rows=[rows[1], rows[1], rows[0]]) == 0
    again = timeline_row(made.model_copy(update={"team": "CIN West"}))  # a changed copy under the same id
    assert store_timeline(engine=engine, rows=[again, timeline_row(closure("2024-04-01"))]) == 1

    stored = child_timeline(engine, child_id="C1")
    assert [(e.event_type, e.action, e.occurred_at.date().isoformat()) for e in stored] == [
        ("closure", None, "2024-04-01"), ("agreement", "breached", "2024-03-02"),
        ("agreement", "made", "2024-01-10"), ("referral", None, "2024-01-02")]  # fmt: skip
    assert stored[2].item_id == "WA-1" and stored[2].team == "CIN East"  # the first copy stays
    assert stored[0].codes == {"reason": "RC7"}
    assert stored[0].occurred_at.tzinfo is not None
    assert [e.event_type for e in child_timeline(engine, child_id="C2")] == ["referral"]
    engine.dispose()


def test_a_childs_rows_are_deleted_with_the_child_and_old_rows_are_pruned(database_url: str) -> None:
    engine = connect(database_url)
    now = datetime.now(UTC)
    store_timeline(engine=engine, rows=[timeline_row(referral("2024-01-02", child="C1"))], now=now)
    store_timeline(engine=engine, rows=[timeline_row(referral("2024-01-02", child="C2"))], now=now)
    # Stored 40 days ago (whatever the event's own date): past a 30-day period.
    store_timeline(engine=engine, rows=[timeline_row(referral("2024-06-01", child="C3"))], now=now - timedelta(40))

    with engine.begin() as connection:
        assert delete_child_rows(connection, "C1") == (0, 0, 0)  # no alerts: the timeline is erased apart
        assert delete_child_timeline(connection, "C1") == 1
    assert prune(engine, older_than=timedelta(days=30), now=now).timeline_events == 1
    with engine.connect() as connection:
        left = connection.execute(select(timeline_events.c.child_id)).scalars().all()
        assert left == ["C2"]
        assert connection.execute(select(func.count()).select_from(timeline_events)).scalar_one() == 1
    engine.dispose()
