"""`make chaos`: faults from outside, on the real broker and worker, checked against replay.

Each fault runs on a fresh deployment (its own topics, group and database) with the clock
on while a simulated history arrives in parts. Afterwards every alert in the database is
compared with an offline replay of the events actually on the input topics (read back
from the broker, poison left out): lost (replay has it, the database not), unexpected
(the reverse) and differing (same id, other content). The table goes to stdout and, with
`--doc`, into docs/reliability.md between the chaos markers.

    python -m tests.chaos.run --kills 20 --doc docs/reliability.md
"""

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select

from agents.calendar import add_months
from agents.replay import replay
from casewatch.config_file import load_rules
from casewatch.local_kafka import LocalKafka, stop_on_sigterm
from casewatch.storage import alerts_table, connect, count_alerts
from schemas.alerts import Alert
from schemas.events import CaseEvent
from streams.admin import ensure_topics
from streams.codec import decode_event
from streams.publish import Publisher
from streams.simulate import SimulationSpec, simulate
from tests.integration.support import Deployment, WorkerProcess, read_topic

# The clock on (every 2 s), judging 3 days behind event time while events arrive (the
# simulator records events up to 3 days late) and by the wall clock 10 s after the last.
CONFIG = "rules:\n  timer_seconds: 2\n  horizon_months: 36\n  lateness_days: 3\n  quiet_seconds: 10\n"
START_MARK, END_MARK = "<!-- chaos:start -->", "<!-- chaos:end -->"
POISON_SIZE = 1_000_000  # about the producer's default message limit


@dataclass
class Result:
    fault: str
    published: int = 0
    poison: int = 0
    dead_letters: int = 0
    expected: int = 0
    stored: int = 0
    lost: int = 0
    unexpected: int = 0
    differing: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not (self.lost or self.unexpected or self.differing) and self.dead_letters >= self.poison


class Chaos:
    """One broker (restartable), and a fresh deployment per fault."""

    def __init__(self, work: Path, *, children: int, parts: int, database: str | None) -> None:
        self.work, self.children, self.parts, self.database = work, children, parts, database
        self.broker = LocalKafka(data_dir=work / "broker")
        self.today = datetime.now(UTC).date()
        start = add_months(self.today.replace(day=1), -30)
        self.events = simulate(SimulationSpec(children=children, seed=23, start=start))

    def deployment(self, name: str, database_url: str | None = None) -> Deployment:
        folder = self.work / name
        folder.mkdir(parents=True, exist_ok=True)
        deployment = Deployment.create(self.broker.bootstrap_servers, folder)
        (folder / "casewatch.yaml").write_text(CONFIG)
        deployment = deployment.with_config(folder / "casewatch.yaml")
        if database_url is not None:  # a shared server: start from an empty alerts table
            deployment = replace(deployment, settings=replace(deployment.settings, database_url=database_url))
            with connect(database_url).begin() as connection:
                connection.execute(delete(alerts_table))
        ensure_topics(self.broker.bootstrap_servers, deployment.settings.topics)
        return deployment

    def run(self, fault: str, during: Callable[["Scene"], None], database_url: str | None = None) -> Result:
        """Start a worker, feed the history in parts with `during` acting between them, settle, compare."""
        deployment = self.deployment(fault.split()[0].replace("/", "") + str(int(time.time() * 1000) % 100000),
                                     database_url)  # fmt: skip
        scene = Scene(self, deployment, Result(fault))
        started = time.monotonic()
        try:
            scene.start_worker()
            size = -(-len(self.events) // self.parts)
            for part in range(self.parts):
                scene.publish(self.events[part * size : (part + 1) * size])
                scene.part = part
                during(scene)
            scene.settle()
        finally:
            scene.stop_worker()
        scene.compare()
        scene.result.seconds = time.monotonic() - started
        return scene.result


class Scene:
    """One fault's deployment: its worker, what was published, and the comparison."""

    def __init__(self, chaos: Chaos, deployment: Deployment, result: Result) -> None:
        self.chaos, self.deployment, self.result = chaos, deployment, result
        self.worker: WorkerProcess | None = None
        self.starts = 0
        self.part = 0

    @property
    def bootstrap(self) -> str:
        return self.chaos.broker.bootstrap_servers

    def start_worker(self) -> None:
        self.starts += 1
        self.worker = WorkerProcess(self.deployment, f"worker-{self.starts}.log").start(timeout=240)

    def stop_worker(self, sig: int = signal.SIGTERM) -> None:
        if self.worker is not None:
            self.worker.stop(sig)
            self.worker = None

    def kill_worker(self) -> None:
        """SIGKILL the worker mid-batch, and start a new one."""
        assert self.worker is not None and self.worker.process is not None
        self.worker.process.send_signal(signal.SIGKILL)
        self.worker.process.wait(30)
        self.start_worker()

    def publish(self, events: list[CaseEvent]) -> None:
        with Publisher(self.bootstrap, self.deployment.settings.topics) as publisher:
            for event in events:
                publisher.event(event)
        self.result.published += len(events)

    def poison(self) -> None:
        """Bad messages into every input topic: not JSON, an unknown type, no key, about 1 MB."""
        topics = self.deployment.settings.topics
        bad = [b"not json", b'{"event_type": "nonsense"}', b"[" + b"1," * (POISON_SIZE // 2 - 1) + b"1]"]
        with Publisher(self.bootstrap, topics) as publisher:
            for topic in topics.inputs:
                for value in bad:
                    publisher.raw(topic, key=b"C-poison", value=value)
                publisher.raw(topic, key=None, value=b'{"event_type": "referral"}')
                self.result.poison += len(bad) + 1

    def settle(self, timeout: float = 600) -> None:
        """Wait until the database holds what replay expects, or stops changing for 60 s."""
        url = self.deployment.settings.database_url
        self.result.expected = len(self.expected())
        last, since = -1, time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stored = _count(url)
            if stored >= self.result.expected and time.monotonic() - since > 15:
                break
            if stored != last:
                last, since = stored, time.monotonic()
            elif time.monotonic() - since > 60:
                self.result.notes.append("the database stopped changing short of replay")
                break
            time.sleep(1)

    def expected(self) -> dict[str, Alert]:
        """Replay of the events on the input topics as the broker holds them."""
        if not hasattr(self, "_expected"):
            s = self.deployment.settings
            events = []
            for topic in s.topics.inputs:
                for record in read_topic(self.bootstrap, topic, s.partitions, timeout=120):
                    decoded = decode_event(record.value, key=record.key, topic=topic, partition=record.partition,
                                           topics=s.topics)  # fmt: skip
                    if not hasattr(decoded, "code"):
                        events.append(decoded)
            rules = load_rules(s)
            self._expected = replay(events, rules, as_of=self.chaos.today).alerts
        return self._expected

    def compare(self) -> None:
        s = self.deployment.settings
        engine = connect(s.database_url)
        stored = _stored(engine)
        expected = self.expected()
        self.result.expected, self.result.stored = len(expected), len(stored)
        self.result.lost = len(expected.keys() - stored.keys())
        self.result.unexpected = len(stored.keys() - expected.keys())
        self.result.differing = sum(
            1
            for k in expected.keys() & stored.keys()
            if stored[k].model_copy(update={"ingested_at": None}) != expected[k]
        )
        for name, ids in (("lost", expected.keys() - stored.keys()), ("unexpected", stored.keys() - expected.keys())):
            rules = sorted({(expected.get(k) or stored[k]).rule for k in ids})
            if rules:
                self.result.notes.append(f"{name}: {', '.join(rules)}")
        self.result.dead_letters = len(read_topic(self.bootstrap, s.topics.dead_letter, s.partitions, timeout=120))


def _count(url: str) -> int:
    try:
        return count_alerts(engine=connect(url))
    except Exception:  # the database may be the fault
        return -1


def _stored(engine: object) -> dict[str, Alert]:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(select(alerts_table.c.payload)).all()
    alerts = [Alert.model_validate_json(row.payload) for row in rows]
    return {a.alert_id: a for a in alerts}


def in_background(work: Callable[[], None]) -> None:
    """A fault that lasts while the history goes on arriving: a feed paused as long would
    rightly count as quiet, and the clock would judge by the wall clock."""
    threading.Thread(target=work, daemon=True).start()


def lock_sqlite(path: Path, seconds: float) -> None:
    """Hold an exclusive lock on the SQLite file for `seconds`, in the background, from now."""
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, timeout=60, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
        connection.close()

    in_background(hold)
    locked.wait(60)


def faults(chaos: Chaos, kills: int, postgres: str | None) -> Iterator[tuple[str, Callable[[Scene], None], str | None]]:
    every = max(1, chaos.parts // max(1, kills))

    def kill(scene: Scene) -> None:
        if scene.part % every == 0 and scene.starts <= kills:
            time.sleep(1.5)  # mid-ingest: the worker is working on this part
            scene.kill_worker()

    yield f"kill -9 worker x{kills}", kill, None

    for name, sig in (("SIGTERM", signal.SIGTERM), ("SIGKILL", signal.SIGKILL)):

        def restart(scene: Scene, sig: int = sig) -> None:
            if scene.part == 1:
                broker = scene.chaos.broker
                assert broker._process is not None
                broker._process.send_signal(sig)
                broker._process.wait(120)
                time.sleep(5)
                broker.log_file.unlink()  # its "started" line would be taken for the new start's
                broker.start(timeout=600)

        yield f"broker {name} + restart", restart, None

    def lock(scene: Scene) -> None:
        if scene.part == 1:  # held in the background while the history goes on arriving
            lock_sqlite(Path(scene.deployment.settings.database_url.removeprefix("sqlite:///")), 45)

    yield "SQLite locked 45 s", lock, None

    def feed_poison(scene: Scene) -> None:
        if scene.part == 1:
            scene.poison()

    yield "poison (incl. ~1 MB) in every input topic", feed_poison, None

    if postgres:

        def stop_postgres(scene: Scene) -> None:
            if scene.part == 1:
                version, cluster = postgres.split("/")

                def stopped() -> None:
                    subprocess.run(["pg_ctlcluster", version, cluster, "stop", "-m", "fast"], check=True)
                    time.sleep(45)
                    subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=True)

                in_background(stopped)

        yield "PostgreSQL stopped 45 s", stop_postgres, os.environ["CASEWATCH_CHAOS_POSTGRES_URL"]


def table(results: list[Result], command: str) -> str:
    lines = [
        f"`{command}` ({datetime.now(UTC).date().isoformat()}):",
        "",
        "| fault | events | poison | dead letters | replay | stored | lost | unexpected | differing | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.fault} | {r.published:,} | {r.poison} | {r.dead_letters} | {r.expected:,} | {r.stored:,} | "
                     f"{r.lost} | {r.unexpected} | {r.differing} | {r.seconds:.0f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_doc(path: Path, text: str) -> None:
    doc = path.read_text() if path.exists() else "# Reliability\n"
    section = f"{START_MARK}\n{text}{END_MARK}"
    if START_MARK in doc:
        doc = doc.split(START_MARK)[0] + section + doc.split(END_MARK, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n## Chaos suite (`make chaos`)\n\n" + section + "\n"
    path.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="worker SIGKILLs during ingest (default 20)")
    parser.add_argument("--children", type=int, default=700, help="simulated children (default 700, ~5,000 events)")
    parser.add_argument("--only", help="comma-separated words: run the faults whose name has one of them")
    parser.add_argument("--work", type=Path, default=Path(".casewatch/chaos"))
    parser.add_argument("--doc", type=Path, help="write the table into this file (docs/reliability.md)")
    args = parser.parse_args(argv)
    command = "python -m tests.chaos.run " + " ".join(argv if argv is not None else sys.argv[1:])
    stop_on_sigterm()
    args.work.mkdir(parents=True, exist_ok=True)
    postgres = os.environ.get("CASEWATCH_CHAOS_POSTGRES_CLUSTER")  # "<version>/<cluster>", with ..._URL
    chaos = Chaos(args.work, children=args.children, parts=max(4, args.kills + 1), database=None)
    results = []
    with ExitStack() as stack:
        chaos.broker.start(timeout=600)
        stack.callback(chaos.broker.stop)
        for fault, during, url in faults(chaos, args.kills, postgres):
            if args.only and not any(word in fault for word in args.only.split(",")):
                continue
            print(f"chaos: {fault} ...", flush=True)
            result = chaos.run(fault, during, url)
            print(table([result], command).splitlines()[-1], flush=True)
            results.append(result)
    text = table(results, command)
    print(text)
    if args.doc is not None:
        write_doc(args.doc, text)
    return 0 if all(r.held for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
