"""Two workers starting on a backlog: partitions move between them mid-stream, and no alert is lost.

A rebalance in the middle of a backlog is what a deployment scaled out, or a rolling
restart, does. Faust acknowledges the messages its stream skips during a rebalance; left
alone it commits past them and the partition's next owner never applies them
(agents.commit_guard). Every alert the offline replay of the same events raises must be
stored, with the same content, and no other.
"""

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from agents.replay import replay
from casewatch.config_file import load_rules
from casewatch.storage import alerts_table, connect
from schemas.alerts import Alert
from streams.admin import ensure_topics
from streams.publish import Publisher
from streams.simulate import SimulationSpec, simulate
from tests.integration.support import Deployment, WorkerProcess, caught_up, wait_until

# The clock on, judging by the watermark alone 5 s after a partition has caught up.
CONFIG = "rules:\n  timer_seconds: 1\n  quiet_seconds: 5\n"
CHILDREN = 3_000  # about 19,000 events: a backlog of half a minute or more here


def stored_alerts(url: str) -> dict[str, Alert]:
    with connect(url).connect() as connection:
        rows = connection.execute(select(alerts_table.c.payload)).all()
    return {a.alert_id: a for a in (Alert.model_validate_json(row.payload) for row in rows)}


def test_two_workers_starting_on_a_backlog_lose_no_alert(kafka_bootstrap: str, tmp_path: Path) -> None:
    (tmp_path / "casewatch.yaml").write_text(CONFIG)
    deployment = Deployment.create(kafka_bootstrap, tmp_path, partitions=6).with_config(tmp_path / "casewatch.yaml")
    settings = deployment.settings
    ensure_topics(kafka_bootstrap, settings.topics)
    events = simulate(SimulationSpec(children=CHILDREN, seed=61))
    with Publisher(kafka_bootstrap, settings.topics) as publisher:
        for event in events:
            publisher.event(event)
    expected = replay(events, load_rules(settings), as_of=datetime.now(UTC).date()).alerts

    # Launched together, as a deployment of two starts: whichever joins first takes every
    # partition and starts on the backlog, and gives half away when the other joins.
    first = WorkerProcess(deployment, "first.log").launch()
    second = WorkerProcess(deployment.second_worker(), "second.log").launch()
    try:
        first.wait_ready(240)
        second.wait_ready(240)
        last, since, deadline = -1, time.monotonic(), time.monotonic() + 600
        while time.monotonic() < deadline and time.monotonic() - since < 90:  # bounded: 90 s without change
            stored = stored_alerts(settings.database_url)
            if expected.keys() <= stored.keys():
                break
            if len(stored) != last:
                last, since = len(stored), time.monotonic()
            time.sleep(1)
        time.sleep(5)  # anything unexpected still on its way has time to arrive
        each = [w.metric("casewatch_events_consumed_total") for w in (first, second)]
        consumed = sum(each)
        # The guard holds commits back only as far as nothing was applied: they still reach the end.
        wait_until(lambda: caught_up(settings, settings.app_id, settings.topics.inputs), 120, second.describe)
    finally:
        second.stop()
        first.stop()
    stored = stored_alerts(settings.database_url)
    lost = sorted(expected.keys() - stored.keys())
    print(f"\n{len(events)} events, {consumed:.0f} applied over both workers; {len(expected)} alerts expected, "
          f"{len(stored)} stored, {len(lost)} lost")  # fmt: skip
    assert len(expected) > 1_000
    assert consumed >= len(events), "some events were never applied by either worker"
    assert min(each) > 0, f"one worker applied nothing: the backlog was not shared ({each})"
    assert not lost, f"lost: {[(expected[k].rule, expected[k].child_id) for k in lost[:20]]}"
    assert stored.keys() == expected.keys()
    differing = [k for k in expected if stored[k].model_copy(update={"ingested_at": None}) != expected[k]]
    assert not differing, differing[:10]
