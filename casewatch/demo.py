"""`casewatch demo`: the whole pipeline on one machine, from simulated events to stored alerts.

It starts a local Kafka broker when none is configured, runs the real worker as its own
process, publishes a simulated stream (and two bad messages, to show the dead-letter
path), prints each alert as the worker raises it, and checks the stored alerts against
an offline replay of the same events. Beside the worker it runs `casewatch serve` and
prints the managers' page's address and a token to sign in with (an admin of every
team, made for this run); `--serve` keeps the page up after the demo, until Ctrl-C.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import yaml
from kafka import KafkaConsumer, TopicPartition

from agents.replay import replay
from casewatch.config_file import load_rules, read_config_file
from casewatch.local_kafka import LocalKafka, free_port, stop_on_sigterm
from casewatch.metrics import scrape
from casewatch.settings import Settings
from casewatch.storage import connect, list_alerts
from schemas.alerts import Alert
from streams.admin import ensure_topics
from streams.publish import Publisher
from streams.simulate import SimulationSpec, simulate

BAD_MESSAGES = (b"{not json", b'{"event_type": "referral", "child_id": "X1", "name": "not allowed"}')


@dataclass(frozen=True)
class DemoOptions:
    children: int = 300
    seed: int = 7
    timeout: float = 240.0
    serve: bool = False  # keep the page up after the demo, until Ctrl-C


def run_demo(settings: Settings, options: DemoOptions) -> int:
    stop_on_sigterm()
    if settings.config_path is None:  # a quick clock, so the time-driven rules' alerts show within seconds
        path = settings.state_dir / "demo-casewatch.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        # The simulator records events up to 3 days late: the clock judges that far behind
        # event time while they arrive, and by the wall clock 10 s after the last.
        path.write_text("rules:\n  timer_seconds: 2\n  lateness_days: 3\n  quiet_seconds: 10\n")
        settings = replace(settings, config_path=path)
    rules = load_rules(settings)  # the worker checks the same file; a bad one stops the demo here
    with ExitStack() as stack:
        if not settings.bootstrap_servers:
            print("No KAFKA_BOOTSTRAP_SERVERS set: starting a local Apache Kafka broker (KRaft)...", flush=True)
            broker = stack.enter_context(LocalKafka())
            settings = settings.with_bootstrap(broker.bootstrap_servers)
            print(f"Kafka {broker.version} is up at {broker.bootstrap_servers}", flush=True)
        assert settings.bootstrap_servers is not None
        ensure_topics(settings.bootstrap_servers, settings.topics, replication_factor=settings.replication_factor,
                      security=settings.kafka_security)  # fmt: skip
        engine = connect(settings.database_url)
        worker = stack.enter_context(_Child(settings, "worker"))
        print(f"Worker started (pid {worker.pid}); metrics at http://127.0.0.1:{settings.metrics_port}/metrics")
        page = stack.enter_context(_Page(settings))
        print(f"The managers' page: {page.url} (sign in with the token {page.token}: demo.admin, every team)")

        events = simulate(SimulationSpec(children=options.children, seed=options.seed))
        # As of today, as the worker's clock will judge the time-driven rules.
        expected = replay(events, rules, as_of=datetime.now(UTC).date()).alerts
        alerts = _AlertTail(settings)
        started = time.monotonic()
        with Publisher(settings.bootstrap_servers, settings.topics, security=settings.kafka_security) as publisher:
            for event in events:
                publisher.event(event)
            for raw in BAD_MESSAGES:
                publisher.raw(settings.topics.for_event_type("referral"), key=b"X1", value=raw)
        print(f"Published {len(events):,} simulated events for {options.children} children, and 2 bad messages.\n")

        seen: dict[str, Alert] = {}
        stored: set[str] = set()
        deadline = time.monotonic() + options.timeout
        while time.monotonic() < deadline:
            worker.check_alive()
            for alert in alerts.poll():
                if alert.alert_id not in seen:
                    print(_one_line(alert), flush=True)
                seen[alert.alert_id] = alert
            stored = {a.alert_id for a in list_alerts(engine=engine, limit=1_000_000)}
            if set(expected) <= stored and _dead_lettered(settings) >= len(BAD_MESSAGES):
                break
        alerts.close()
        elapsed = time.monotonic() - started
        missing = set(expected) - stored
        _summary(expected, seen, stored, len(events), elapsed)
        print(f"{'dead-lettered (see ' + settings.topics.dead_letter + ')':<40} {_dead_lettered(settings):>6.0f}")
        if missing:
            print(f"\nFAILED: {len(missing)} expected alerts were not stored within {options.timeout:.0f}s")
            return 1
        print(
            f"\nAll {len(expected)} alerts the replay expects were raised live and stored in "
            f"{settings.database_url_masked}."
        )
        print("List them with: casewatch alerts")
        print(f"See them on the page: {page.url} (token {page.token})")
        if options.serve:
            print("The page stays up; Ctrl-C stops it.", flush=True)
            while True:
                page.check_alive()
                time.sleep(1)
        return 0


class _Child:
    """A `casewatch` command (worker, serve) as a child process, stopped with SIGTERM like in production."""

    def __init__(self, settings: Settings, command: str, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.command = command
        self.env = env or {}
        self.log = settings.state_dir / f"demo-{command}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self._process.pid if self._process else -1

    def __enter__(self) -> "_Child":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.deployment_env(), **self.env}
        with open(self.log, "wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "casewatch", self.command], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"the {self.command} exited with code {self._process.returncode}; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class _Page(_Child):
    """`casewatch serve` on a free port of 127.0.0.1, knowing one admin token made for this run."""

    TOKEN_ENV = "CASEWATCH_DEMO_TOKEN"

    def __init__(self, settings: Settings) -> None:
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/ui/"
        # The demo's configuration with an `access:` section naming the token's variable (never the token).
        data = read_config_file(settings.config_path) if settings.config_path else {}
        admin = {"name": "demo.admin", "token_env": self.TOKEN_ENV, "roles": ["admin"]}
        data["access"] = {**(data.get("access") or {}), "tokens": [admin]}
        path = settings.state_dir / "demo-serve.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        env = {self.TOKEN_ENV: self.token, "CASEWATCH_CONFIG": str(path), "CASEWATCH_HTTP_HOST": "127.0.0.1",
               "CASEWATCH_HTTP_PORT": str(self.port)}  # fmt: skip
        super().__init__(settings, "serve", env)

    def __enter__(self) -> "_Page":
        super().__enter__()
        try:
            self._wait_ready(deadline=time.monotonic() + 60)
        except BaseException:
            self.__exit__()  # not yet on the exit stack: stop it here
            raise
        return self

    def _wait_ready(self, *, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the page did not answer within 60 s; see {self.log}")


class _AlertTail:
    """Reads the alerts topic from its current end, so only this run's alerts show."""

    def __init__(self, settings: Settings) -> None:
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            enable_auto_commit=False,
            group_id=None,
            **settings.kafka_security.client_options(),
        )
        partitions = [TopicPartition(settings.topics.alerts, p) for p in range(settings.partitions)]
        self._consumer.assign(partitions)
        self._consumer.seek_to_end(*partitions)
        for partition in partitions:
            self._consumer.position(partition)  # resolve the end now, before anything is published

    def poll(self) -> list[Alert]:
        batches = self._consumer.poll(timeout_ms=1000)
        return [Alert.model_validate_json(m.value) for batch in batches.values() for m in batch]

    def close(self) -> None:
        self._consumer.close()


def _dead_lettered(settings: Settings) -> float:
    """The worker's own count of dead-lettered messages, read from its metrics endpoint."""
    try:
        return scrape(f"http://127.0.0.1:{settings.metrics_port}/metrics", "casewatch_events_dead_lettered_total")
    except OSError:
        return 0.0  # the worker is not serving metrics yet


def _one_line(alert: Alert) -> str:
    subject = f"child {alert.child_id}" if alert.child_id else "team"
    what = alert.explanation.split(". ")[0]  # the first sentence says what happened; the rest, why it matters
    return f"ALERT {alert.severity:<6} {alert.rule}  {subject}  team {alert.team}: {what}"


def _summary(expected: dict[str, Alert], live: dict[str, Alert], stored: set[str], events: int, seconds: float) -> None:
    print("\nSummary")
    print(f"{'rule':<38} {'severity':<9} {'live':>6} {'replay':>7}")
    live_counts = Counter((a.rule, a.severity) for a in live.values())
    replay_counts = Counter((a.rule, a.severity) for a in expected.values())
    for rule, severity in sorted(set(live_counts) | set(replay_counts)):
        key = (rule, severity)
        print(f"{rule:<38} {severity:<9} {live_counts[key]:>6} {replay_counts[key]:>7}")
    print(f"{'stored in the database':<48} {len(stored):>6}")
    print(f"{'events':<48} {events:>6}  in {seconds:.1f}s")
