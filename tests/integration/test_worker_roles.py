"""A worker split in two processes: `--role correlate` (the agents, no database) and `--role store`."""

import json
from pathlib import Path

from agents.timeline_consumer import timeline_group
from casewatch.storage import connect, list_alerts
from casewatch.timeline import child_timeline
from streams.publish import Publisher
from tests.integration.support import Deployment, caught_up, read_topic, running_worker, wait_until
from tests.integration.test_worker_end_to_end import AGREEMENT, REFERRAL, publish


def test_the_correlate_role_raises_alerts_without_a_database_and_the_store_role_stores_them(
    deployment: Deployment,
) -> None:
    settings = deployment.settings
    store_side = deployment.second_worker()  # its own metrics port and state folder, the same database
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    with running_worker(deployment, "correlate.log", role="correlate") as correlate:
        publish(deployment, AGREEMENT, REFERRAL)
        wait_until(lambda: correlate.metric("casewatch_alerts_raised_total") >= 1, 60, correlate.describe)
        assert not database.exists()  # the agents never opened it: the alert waits on its topic
        with running_worker(store_side, "store.log", role="store") as store:
            wait_until(lambda: store.metric("casewatch_alerts_persisted_total") >= 1, 60, store.describe)
            group = timeline_group(settings.app_id)
            wait_until(lambda: caught_up(settings, group, settings.topics.inputs), 60, store.describe)
            # Ready with no input partition of its own: its consumers are of their own groups.
            assert store.metric("casewatch_worker_ready") == 1
            assert correlate.metric("casewatch_worker_ready") == 1
            assert store.metric("casewatch_events_consumed_total") == 0  # the agents' work is not here
            assert correlate.metric("casewatch_alerts_persisted_total") == 0  # nor the storing there
            assert store.metric("casewatch_agent_crashes_total", agent="persist") == 0
            stored_all = lambda: store.metric("casewatch_store_lag_messages", consumer="timeline") == 0  # noqa: E731
            wait_until(stored_all, 10, store.describe)  # after its next fetch
            assert store.metric("casewatch_store_lag_messages", consumer="persist") == 0
        assert store.process is not None and store.process.returncode == 0  # SIGTERM: a clean stop
    engine = connect(settings.database_url)
    assert [(a.rule, a.child_id) for a in list_alerts(engine=engine)] == [("rereferral_after_agreement", "C1001")]
    assert [e.event_id for e in child_timeline(engine, child_id="C1001")] == ["lcs:ref-2", "lcs:wa-1:made"]


def test_the_store_role_dead_letters_what_is_not_an_alert_and_stores_the_rest(deployment: Deployment) -> None:
    settings = deployment.settings
    with running_worker(deployment, "store.log", role="store") as store:
        with Publisher(str(settings.bootstrap_servers), settings.topics) as publisher:
            publisher.raw(settings.topics.alerts, key=b"C1001", value=b"{not an alert")
        with running_worker(deployment.second_worker(), "correlate.log", role="correlate"):
            publish(deployment, AGREEMENT, REFERRAL)
            wait_until(lambda: store.metric("casewatch_alerts_persisted_total") >= 1, 60, store.describe)
        refused = lambda: store.metric("casewatch_events_dead_lettered_total", reason="invalid_alert")  # noqa: E731
        wait_until(lambda: refused() >= 1, 30, store.describe)
        assert store.alive()
    letters = [json.loads(r.value) for r in read_topic(str(settings.bootstrap_servers), settings.topics.dead_letter,
                                                       settings.partitions)]  # fmt: skip
    assert [(letter["code"], letter["topic"]) for letter in letters] == [("invalid_alert", settings.topics.alerts)]
    assert len(list_alerts(engine=connect(settings.database_url))) == 1
