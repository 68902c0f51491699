"""The dispatcher's outcomes on a real database: retries, Retry-After, parking, resend, leases, concurrency."""

import random
import threading
from datetime import timedelta

import pytest

from casewatch.delivery.channels.base import SendResult
from casewatch.delivery.config import Delivery
from casewatch.delivery.dispatcher import backoff, next_attempt
from casewatch.delivery.lifecycle import LifecycleError, audit_trail, resend_notification
from casewatch.delivery.outbox import claim, list_notifications
from casewatch.storage import connect
from tests.alerts import make_alert
from tests.test_delivery.support import T0, Harness, RecordingChannel, routing

POLICY = {"max_attempts": 3, "backoff_initial": "10s", "backoff_max": "1m", "timer_interval": "1h"}
CONFIG = routing(
    {
        "route": {"receiver": "ops", "group_by": ["child_id"], "group_wait": "0s", "group_interval": "0s"},
        "receivers": [{"name": "ops", "console": {}}],
        "delivery": POLICY,
    }
)
RETRYABLE = SendResult.failed("HTTP 503", retryable=True)


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 5, 10), (2, 10, 20), (3, 20, 40), (4, 30, 60), (9, 30, 60), (60, 30, 60)]
)
def test_backoff_doubles_with_jitter_up_to_its_ceiling(attempt: int, low: float, high: float) -> None:
    policy = Delivery.model_validate(POLICY)
    delays = [backoff(attempt, policy, random.Random(seed)).total_seconds() for seed in range(50)]
    assert low <= min(delays) and max(delays) <= high
    assert len(set(delays)) > 40  # jittered: dispatchers that failed together spread out


def test_retry_after_is_honoured_but_capped_and_permanent_errors_are_not_retried() -> None:
    policy = Delivery.model_validate(POLICY | {"retry_after_max": "5m"})
    rng = random.Random(1)
    limited = SendResult.failed("HTTP 429", retryable=True, retry_after=timedelta(seconds=120))
    assert next_attempt(limited, 1, policy, T0, rng) == T0 + timedelta(seconds=120)
    greedy = SendResult.failed("HTTP 429", retryable=True, retry_after=timedelta(days=2))
    assert next_attempt(greedy, 1, policy, T0, rng) == T0 + timedelta(minutes=5)
    assert next_attempt(SendResult.failed("HTTP 400", retryable=False), 1, policy, T0, rng) is None
    assert next_attempt(RETRYABLE, 3, policy, T0, rng) is None  # the last attempt


def test_a_failing_receiver_is_retried_then_parked_then_resent_with_the_same_key(database_url: str) -> None:
    h = Harness(database_url, CONFIG, channels={"ops": RecordingChannel(RETRYABLE, RETRYABLE, RETRYABLE)})
    h.store(make_alert("a"), at=0)
    h.turn(at=0)
    [row] = list_notifications(h.engine)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 503")
    assert T0 + timedelta(seconds=5) <= row.due_at <= T0 + timedelta(seconds=10)
    assert h.turn(at=4) == 0  # not before its backoff
    h.turn(at=10)
    h.turn(at=40)
    [row] = list_notifications(h.engine, status="failed")
    assert (row.attempts, row.last_error) == (3, "HTTP 503")
    assert h.turn(at=10_000) == 0  # parked: no more attempts
    assert h.metric("casewatch_notifications_retried_total", channel="console", receiver="ops") == 2
    assert h.metric("casewatch_notifications_failed_total", channel="console", receiver="ops") == 1

    resend_notification(h.engine, row.id, actor="ops.engineer", now=h.clock.at(10_001))
    h.turn(at=10_001)
    keys = {b.idempotency_key for b in h.channels["ops"].batches}
    assert len(h.channels["ops"].batches) == 4 and len(keys) == 1  # every attempt, one key
    assert [n.status for n in list_notifications(h.engine)] == ["sent"]
    [entry] = audit_trail(h.engine, subject="notification")
    assert (entry.actor, entry.action, entry.detail["last_error"]) == ("ops.engineer", "resend", "HTTP 503")
    with pytest.raises(LifecycleError, match="only a failed one"):
        resend_notification(h.engine, row.id, actor="ops.engineer", now=h.clock.at(10_002))


def test_a_permanent_error_parks_at_once_and_a_receiver_gone_from_the_config_is_parked(database_url: str) -> None:
    refused = SendResult.failed("HTTP 404", retryable=False)
    h = Harness(database_url, CONFIG, channels={"ops": RecordingChannel(refused)})
    h.store(make_alert("a"), at=0)
    h.turn(at=0)
    assert [(n.status, n.attempts) for n in list_notifications(h.engine)] == [("failed", 1)]

    h.store(make_alert("b", child_id="C2"), at=1)
    h.dispatcher.channels = {}  # as after the receiver was removed from the configuration
    h.dispatcher.config = routing({"route": {"receiver": "other"}, "receivers": [{"name": "other", "console": {}}]})
    h.turn(at=2)
    newest = list_notifications(h.engine)[0]
    assert (newest.status, newest.last_error) == ("failed", "receiver ops is not in the routing configuration")


def test_a_claimed_notification_is_retaken_only_after_its_lease_with_the_same_key(database_url: str) -> None:
    h = Harness(database_url, CONFIG)
    h.store(make_alert("a"), at=0)
    lease = timedelta(seconds=120)
    [first] = claim(h.engine, owner="crashed", now=h.clock.at(1), lease=lease, limit=10)  # then it dies
    assert claim(h.engine, owner="other", now=h.clock.at(120), lease=lease, limit=10) == []
    assert h.turn(at=121) == 1  # the lease ran out: the live dispatcher resends it
    [batch] = h.channels["ops"].batches
    assert batch.idempotency_key == first.idempotency_key and batch.attempt == 2


def test_dispatchers_claiming_at_once_never_take_the_same_notification(database_url: str) -> None:
    h = Harness(database_url, CONFIG)
    alerts = [make_alert(f"a{i}", child_id=f"C{i}") for i in range(40)]
    h.store(*alerts, at=0)
    taken: list[int] = []
    sizes: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def dispatcher(name: str) -> None:
        engine = connect(database_url)  # its own connection pool, as a separate process would have
        start.wait()
        while batch := claim(engine, owner=name, now=h.clock.at(1), lease=timedelta(minutes=5), limit=3):
            with lock:
                taken.extend(c.id for c in batch)
                sizes.append(len(batch))
        engine.dispose()

    threads = [threading.Thread(target=dispatcher, args=(f"d{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(taken) == 40 and len(set(taken)) == 40
    assert max(sizes) <= 3  # each claim keeps to its limit (so a lease covers only what it can send)


def test_outbox_metrics_count_depth_and_the_oldest_undelivered_age(database_url: str) -> None:
    h = Harness(database_url, CONFIG, channels={"ops": RecordingChannel(RETRYABLE)})
    h.store(make_alert("a"), make_alert("b", child_id="C2"), at=0)
    h.turn(at=30)  # one sent, one retried
    assert h.metric("casewatch_outbox_depth") == 1
    assert h.metric("casewatch_outbox_oldest_undelivered_age_seconds") == 30
    assert h.metric("casewatch_notifications_sent_total", channel="console", receiver="ops") == 1
    h.turn(at=100)
    assert h.metric("casewatch_outbox_depth") == 0
    assert h.metric("casewatch_outbox_oldest_undelivered_age_seconds") == 0
