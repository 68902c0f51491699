"""The commit guard: a partition's commit never passes the last message an agent handled."""

import faust
from faust.types import TP

from agents.commit_guard import GuardedConsumer, committable, guard


def test_the_commit_is_what_faust_acked_but_never_past_what_was_handled() -> None:
    assert committable(10, 7) == 7  # 7-9 acked by a skip, never applied: fetched again
    assert committable(7, 10) == 7  # handled further than acked: Faust's own bound holds
    assert committable(None, 7) is None  # nothing acked since the last commit
    assert committable(10, None) is None  # nothing handled on it since it was assigned


def test_the_apps_consumer_commits_only_as_far_as_handled() -> None:
    app = faust.App("guard-test", broker="kafka://127.0.0.1:9", web_enabled=False)
    handled: dict[TP, int] = {}
    guard(app, handled.get)
    consumer = app.consumer
    assert isinstance(consumer, GuardedConsumer)
    tp = TP("events", 0)
    # Faust's own bookkeeping of acked offsets (as its stream iterator leaves it): 0-9 acked.
    consumer._acked[tp] = list(range(10))
    consumer._acked_index[tp] = set(range(10))
    assert consumer._new_offset(tp) is None  # nothing handled there: no commit at all
    consumer._acked[tp] = list(range(10))
    consumer._acked_index[tp] = set(range(10))
    handled[tp] = 6  # offsets 0-5 applied by an agent; 6-9 skipped in a rebalance
    assert consumer._new_offset(tp) == 6
