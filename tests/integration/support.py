"""Real parts for integration tests: the worker as its own process, topics read back whole."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from casewatch.local_kafka import free_port
from casewatch.metrics import scrape
from casewatch.settings import Settings
from streams.kafka_security import PLAINTEXT, KafkaSecurity


@dataclass(frozen=True)
class Deployment:
    """One isolated casewatch deployment on the shared broker: its own topics, group and database."""

    settings: Settings
    folder: Path

    @classmethod
    def create(cls, bootstrap: str, folder: Path, *, partitions: int = 3) -> "Deployment":
        name = f"t{uuid.uuid4().hex[:10]}"
        settings = Settings(
            bootstrap_servers=bootstrap,
            topic_prefix=name,
            partitions=partitions,
            app_id=name,
            database_url=f"sqlite:///{folder / 'alerts.db'}",
            metrics_port=free_port(),
            state_dir=folder / "state",
        )
        return cls(settings, folder)

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, **self.settings.deployment_env())

    def with_config(self, path: Path) -> "Deployment":
        """The same deployment, started with this configuration file (CASEWATCH_CONFIG)."""
        return replace(self, settings=replace(self.settings, config_path=path))

    def second_worker(self) -> "Deployment":
        """The same deployment (topics, group, database) for another worker process on this machine."""
        folder = self.folder / "second"
        folder.mkdir(exist_ok=True)
        return replace(self, settings=replace(self.settings, metrics_port=free_port(), state_dir=folder / "state"))

    def run_cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "casewatch", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )


class WorkerProcess:
    """`casewatch worker` started as production starts it, read through its metrics port (`--role`: `role`)."""

    def __init__(self, deployment: Deployment, log_name: str = "worker.log", role: str = "all") -> None:
        self.deployment = deployment
        self.log = deployment.folder / log_name
        self.role = role
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> "WorkerProcess":
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> "WorkerProcess":
        """The process started, not yet ready (`wait_ready`): two launched together join one group at once."""
        with open(self.log, "ab") as out:
            command = [sys.executable, "-m", "casewatch", "worker", "--loglevel", "info", "--metrics-host", "127.0.0.1"]
            self.process = subprocess.Popen(
                [*command, "--role", self.role],
                env=self.deployment.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout: float = 90) -> "WorkerProcess":
        wait_until(self._ready, timeout, self.describe)
        return self

    def _ready(self) -> bool:
        if not self.alive():
            raise AssertionError(f"the worker exited before it was ready\n{self.describe()}")
        return "Ready" in self.log.read_text(errors="replace")

    def describe(self) -> str:
        return f"worker log {self.log}:\n" + self.log.read_text(errors="replace")[-4000:]

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels`."""
        return scrape(f"http://127.0.0.1:{self.deployment.settings.metrics_port}/metrics", name, **labels)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running_worker(deployment: Deployment, log_name: str = "worker.log", role: str = "all") -> Iterator[WorkerProcess]:
    worker = WorkerProcess(deployment, log_name, role)
    try:
        yield worker.start()
    finally:
        worker.stop()


def terminate(process: "subprocess.Popen[bytes]", timeout: float = 30) -> None:
    """SIGTERM, and SIGKILL if the process has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(check: Callable[[], Any], timeout: float, describe: Callable[[], str] = lambda: "") -> Any:
    """Poll `check` until it returns something truthy; fail with `describe()` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (OSError, ValueError):
            result = None  # the endpoint or file may not be there yet
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s\n{describe()}")
        time.sleep(0.25)


def read_topic(
    bootstrap: str, topic: str, partitions: int, timeout: float = 20, *, security: KafkaSecurity = PLAINTEXT
) -> list[Any]:
    """Every record on a topic, from the beginning to the end it has now."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **security.client_options()
    )
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end within {timeout}s")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def caught_up(settings: Settings, group: str, topics: tuple[str, ...]) -> bool:
    """Whether `group` has committed every record now on `topics` (each partition at its end)."""
    admin = KafkaAdminClient(bootstrap_servers=str(settings.bootstrap_servers))
    consumer = KafkaConsumer(bootstrap_servers=str(settings.bootstrap_servers), group_id=None, enable_auto_commit=False)
    try:
        committed = admin.list_group_offsets([group]).get(group, {})
        partitions = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        ends = consumer.end_offsets(partitions)
    finally:
        consumer.close()
        admin.close()
    return all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in partitions)
