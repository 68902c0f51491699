"""The live clock's watermark: a noted time counts once everything then on the partitions is handled."""

from datetime import UTC, datetime, timedelta

from agents.watermark import Watermark

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_backlog_holds_the_clock_back_until_it_is_handled() -> None:
    mark, handled = Watermark(), {"p0": 0, "p1": 0}
    mark.note(T0, {"p0": 100, "p1": 5})
    assert mark.advance(handled.__getitem__) is None and mark.time is None
    handled.update(p0=100)
    assert mark.advance(handled.__getitem__) is None
    handled.update(p1=5)
    assert mark.advance(handled.__getitem__) == T0


def test_it_moves_to_the_latest_noted_time_that_is_complete() -> None:
    mark, handled = Watermark(), {"p0": 10}
    for seconds, end in ((0, 10), (1, 10), (2, 12)):
        mark.note(T0 + timedelta(seconds=seconds), {"p0": end})
    assert mark.advance(handled.__getitem__) == T0 + timedelta(seconds=1)
    assert mark.advance(handled.__getitem__) is None
    handled["p0"] = 12
    assert mark.advance(handled.__getitem__) == T0 + timedelta(seconds=2)


def test_no_partitions_means_nothing_to_wait_for() -> None:
    mark = Watermark()
    mark.note(T0, {})
    assert mark.advance(lambda tp: 0) == T0


def test_a_reset_forgets_what_was_noted_and_the_oldest_notes_are_dropped() -> None:
    mark = Watermark(keep=2)
    mark.note(T0, {"p0": 1})
    mark.reset()
    assert mark.advance(lambda tp: 0) is None
    for seconds in range(3):
        mark.note(T0 + timedelta(seconds=seconds), {"p0": 1})
    assert mark.advance(lambda tp: 1) == T0 + timedelta(seconds=2)
