"""The bulk changelog (agents.produce) on a real broker: Faust's own records, read back by Faust.

The states are written to their changelog by our producer batches, not by Faust's
`Table.__setitem__`, but recovery is still Faust's: these tests hold that the records are
the ones Faust would write, that a worker on a wiped state directory rebuilds every state
from them, and that a restart on a kept one reads on from the offsets the store recorded.
"""

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import rocksdict
from faust.stores.rocksdb import Store as RocksStore
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from casewatch.storage import connect, list_alerts
from schemas.alerts import Alert
from schemas.events import Referral, WrittenAgreement
from streams.publish import Publisher
from streams.topics import partition_of
from tests.integration.support import Deployment, read_topic, running_worker, terminate, wait_until
from tests.integration.test_worker_end_to_end import AGREEMENT, REFERRAL

PARTITIONS = 3  # of the input topic and of both tables


class ChangelogApp:
    """tests/integration/changelog_app.py as a process: one app id, runs on a state directory each."""

    def __init__(self, bootstrap: str, folder: Path) -> None:
        self.bootstrap, self.folder = bootstrap, folder
        self.app_id = f"bulk{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:  # before anything is published to it, with the partitions the tables have
            admin.create_topics([NewTopic(f"{self.app_id}-in", PARTITIONS, 1)])
        finally:
            admin.close()

    def publish(self, records: dict[bytes, Any]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            for key, value in records.items():
                producer.send(f"{self.app_id}-in", key=key, value=json.dumps(value).encode())
        finally:
            producer.flush()
            producer.close()

    def run(self, name: str, state: Path, *, until: int = 0) -> dict[str, Any]:
        """Start the app on `state`, ask it what its tables hold once recovered, stop it
        (once each changelog holds `until` records)."""
        out, log = self.folder / f"{name}.json", self.folder / f"{name}.log"
        env = dict(
            os.environ, CHANGELOG_APP_ID=self.app_id, CHANGELOG_APP_BOOTSTRAP=self.bootstrap,
            CHANGELOG_APP_DATADIR=str(state), CHANGELOG_APP_OUT=str(out), CHANGELOG_APP_RUN=name,
            CHANGELOG_APP_PARTITIONS=str(PARTITIONS),
        )  # fmt: skip
        with open(log, "wb") as written:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.changelog_app", "worker", "-l", "info"],
                env=env, stdout=written, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            self.publish({f"report:{name}".encode(): {}})
            describe = lambda: log.read_text(errors="replace")[-4000:]  # noqa: E731
            wait_until(out.exists, 120, describe)
            for table in ("by-faust", "in-bulk"):
                wait_until(lambda: len(self.changelog(table)) >= until, 60, describe)  # noqa: B023
            return dict(json.loads(out.read_text()))
        finally:
            terminate(process)

    def changelog(self, table: str) -> list[Any]:
        return read_topic(self.bootstrap, f"{self.app_id}-{table}-changelog", PARTITIONS)


def stored_offsets(state: Path, table: str) -> dict[int, int]:
    """The changelog offset each partition's RocksDB database says it holds (the worker stopped)."""
    offsets = {}
    for partition in range(PARTITIONS):
        db = rocksdict.Rdict(
            str(state / "v1" / "tables" / f"{table}-{partition}.db"),
            options=rocksdict.Options(raw_mode=True),
            access_type=rocksdict.AccessType.read_only(),
        )
        try:
            offset = db.get(RocksStore.offset_key)
        finally:
            db.close()
        if offset is not None:
            offsets[partition] = int(offset)
    return offsets


def test_the_bulk_changelog_carries_faust_s_records_and_faust_recovers_the_states_from_it(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    app = ChangelogApp(kafka_bootstrap, tmp_path)
    values = {f"C{4000 + i}".encode(): {"child": f"C{4000 + i}", "days": list(range(i % 7)), "n": i} for i in range(60)}
    # A large value too: it needs a producer batch of its own.
    values[b"C4999"] = {"child": "C4999", "days": ["2024-01-01"] * 4000}
    app.publish(values)
    expected = {key.decode(): value for key, value in values.items()}
    app.run("first", tmp_path / "state", until=len(values))
    written = {table: stored_offsets(tmp_path / "state", table) for table in ("by-faust", "in-bulk")}
    kept = app.run("kept", tmp_path / "state")  # values written by the first run
    assert kept["by_faust"]["values"] == kept["in_bulk"]["values"] == expected

    # Record for record what Faust's own changelog holds: key, value, headers, partition.
    def records(table: str) -> dict[bytes, tuple[int, bytes, list[Any]]]:
        found = [(r.key, (r.partition, r.value, list(r.headers))) for r in app.changelog(table)]
        assert len(found) == len(values)  # one record a key: each was set once
        return dict(found)

    by_faust, in_bulk = records("by-faust"), records("in-bulk")
    assert in_bulk == by_faust
    assert all(partition == partition_of(key, PARTITIONS) for key, (partition, _, _) in in_bulk.items())
    # The store records the changelog's last offset in each partition, as Faust's does: a
    # restart on a kept state directory reads only what was written since.
    last = {p: n - 1 for p, n in Counter(partition for partition, _, _ in in_bulk.values()).items()}
    assert written["in-bulk"] == written["by-faust"] == last
    assert kept["in_bulk"]["offsets"] == kept["by_faust"]["offsets"] == {str(p): o for p, o in last.items()}

    # A wiped state directory: Faust rebuilds both tables from their changelogs alone.
    wiped = app.run("wiped", tmp_path / "wiped-state")
    assert wiped["in_bulk"]["values"] == wiped["by_faust"]["values"] == expected
    assert wiped["in_bulk"]["offsets"] == kept["in_bulk"]["offsets"]


def test_a_worker_on_a_wiped_state_directory_rebuilds_every_child_and_misses_or_repeats_no_alert(
    deployment: Deployment,
) -> None:
    settings = deployment.settings
    children = [f"C{5000 + i}" for i in range(45)]  # across the partitions, most batches many children
    agreements = [AGREEMENT.model_copy(update={"child_id": c, "event_id": f"lcs:wa-{c}:made"}) for c in children]
    referrals = [REFERRAL.model_copy(update={"child_id": c, "event_id": f"lcs:ref-{c}"}) for c in children]

    def publish(events: list[WrittenAgreement] | list[Referral]) -> None:
        with Publisher(str(settings.bootstrap_servers), settings.topics) as publisher:
            for event in events:
                publisher.event(event)

    with running_worker(deployment, "first.log") as worker:
        publish(agreements)
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= len(children), 60, worker.describe)
    # Only the changelog, written in bulk, can tell this worker of the agreements.
    with running_worker(deployment.second_worker(), "second.log") as worker:
        publish(referrals)
        publish(agreements)  # redelivered: no second alert
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 2 * len(children), 60, worker.describe)
        wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= len(children), 60, worker.describe)
        assert worker.metric("casewatch_events_consumed_total") == 2 * len(children)  # the first were not re-read
        assert worker.metric("casewatch_alerts_raised_total", rule="rereferral_after_agreement") == len(children)
    on_topic = [
        Alert.model_validate_json(r.value)
        for r in read_topic(str(settings.bootstrap_servers), settings.topics.alerts, settings.partitions)
    ]
    assert sorted(a.child_id for a in on_topic) == children  # each child's alert once, on its key's partition
    assert all(
        r.partition == partition_of(r.key, settings.partitions)
        for r in read_topic(str(settings.bootstrap_servers), settings.topics.alerts, settings.partitions)
    )
    stored = list_alerts(engine=connect(settings.database_url))
    assert sorted(a.child_id for a in stored) == children
    assert {a.facts["agreement_id"] for a in stored} == {"wa-1"}
