"""Delivery under faults, with real `casewatch dispatch` processes and a real HTTP receiver.

The receiver answers 500 and then 429 with Retry-After for a while, holds one request in
flight while the dispatcher is killed (SIGKILL), and the dispatcher is started again. At
the end every alert has reached the receiver and no idempotency key was accepted twice.
"""

import os
import time
from collections import Counter
from pathlib import Path

from casewatch.delivery.config import load_routing
from casewatch.delivery.outbox import enqueuer, list_notifications
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.integration.support import wait_until
from tests.test_delivery.support import DispatcherProcess, HttpReceiver, write_config

# Short backoffs and lease, so the test takes seconds; the send timeout stays under half the lease.
FAST = {"backoff_initial": "50ms", "backoff_max": "200ms", "lease": "4s", "poll_interval": "100ms",
        "max_attempts": 30, "batch_size": 2}  # fmt: skip


def _setup(database_url: str, folder: Path, url: str, alerts: int) -> tuple[dict[str, str], list[str]]:
    config_path = write_config(
        folder,
        {
            "route": {"receiver": "ops", "group_by": ["child_id"], "group_wait": "0s"},
            "receivers": [
                {
                    "name": "ops",
                    "webhook": {"url": url, "secret_env": "HOOK_SECRET", "timeout": "1900ms", "allow_plain_http": True},
                }
            ],
            "delivery": FAST,
        },
    )
    engine = connect(database_url)
    stored = [make_alert(f"fault-{i}", child_id=f"C{i:03d}") for i in range(alerts)]
    upsert_alerts(engine=engine, alerts=stored, on_stored=enqueuer(load_routing(config_path)))
    engine.dispose()
    env = dict(os.environ, CASEWATCH_DATABASE_URL=database_url, CASEWATCH_CONFIG=str(config_path), HOOK_SECRET="k")
    return env, [a.alert_id for a in stored]


def _delivered_alerts(receiver: HttpReceiver) -> set[str]:
    return {a["alert_id"] for r in receiver.accepted() for a in r.json()["alerts"]}


def test_failing_rate_limiting_and_a_killed_dispatcher_lose_nothing_and_duplicate_nothing(
    database_url: str, tmp_path: Path
) -> None:
    answers = [(500, {})] * 3 + [(429, {"Retry-After": "1"})] * 2
    with HttpReceiver(answers, hold_request=9) as receiver:
        env, alert_ids = _setup(database_url, tmp_path, receiver.url, alerts=12)
        first = DispatcherProcess(env, tmp_path / "dispatcher-1.log").start()
        try:
            assert receiver.holding.wait(60), first.describe()
            first.kill()  # mid-send: request 9 is in flight, unanswered
        finally:
            first.stop()
        receiver.release()
        second = DispatcherProcess(env, tmp_path / "dispatcher-2.log").start()
        try:
            wait_until(lambda: _delivered_alerts(receiver) == set(alert_ids), 60, second.describe)
            time.sleep(0.5)  # room for a duplicate to show, were there one
        finally:
            second.stop()

    accepted = Counter(r.headers["Idempotency-Key"] for r in receiver.accepted())
    assert len(accepted) == 12 and set(accepted.values()) == {1}, accepted
    in_flight = receiver.received[8]
    assert in_flight.status == 503 and accepted[in_flight.headers["Idempotency-Key"]] == 1  # resent after restart

    by_key: dict[str, list[float]] = {}
    for request in receiver.received:
        by_key.setdefault(request.headers["Idempotency-Key"], []).append(request.at)
    for request in receiver.received:
        if request.status == 429:  # the next attempt of that notification waited out Retry-After
            later = [t for t in by_key[request.headers["Idempotency-Key"]] if t > request.at]
            assert later and later[0] - request.at >= 0.95
    retried = [key for key, times in by_key.items() if len(times) > 1]
    assert len(retried) >= 3  # the 500s and 429s were retried, not dropped
    engine = connect(database_url)
    assert {n.status for n in list_notifications(engine)} == {"sent"}
    engine.dispose()


def test_several_dispatchers_at_once_send_each_notification_once(database_url: str, tmp_path: Path) -> None:
    with HttpReceiver(delay=0.2) as receiver:  # slow enough that the three overlap
        env, alert_ids = _setup(database_url, tmp_path, receiver.url, alerts=30)
        dispatchers = [DispatcherProcess(env, tmp_path / f"dispatcher-{i}.log") for i in range(3)]
        try:
            for dispatcher in dispatchers:
                dispatcher.start()
            wait_until(lambda: _delivered_alerts(receiver) == set(alert_ids), 60, dispatchers[0].describe)
            time.sleep(0.5)
        finally:
            for dispatcher in dispatchers:
                dispatcher.stop()
    accepted = Counter(r.headers["Idempotency-Key"] for r in receiver.received)
    assert len(accepted) == 30 and set(accepted.values()) == {1}, accepted
    sent_by = [sum(" sent to " in line for line in d.log.read_text().splitlines()) for d in dispatchers]
    assert sum(sent_by) == 30 and sorted(sent_by)[-2] > 0, sent_by  # they really shared the work
