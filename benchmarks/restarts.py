"""Restart figures for docs/reliability.md: kill -9 to consuming again, and start-up with history.

One deployment on one broker: N simulated children's events are loaded, a worker consumes
them all, then is killed with SIGKILL again and again. After each kill a new worker starts
on the same state directory and one probe event is published; the figures are, from the
kill: "Ready" in the new worker's log (its tables recovered) and the probe consumed
(`casewatch_events_consumed_total` > 0 on its metrics endpoint). Last, a worker on an
empty state directory shows what a start from the changelog alone costs.

    python -m benchmarks.restarts --children 5000 --kills 5
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from casewatch.local_kafka import LocalKafka, free_port, stop_on_sigterm
from casewatch.metrics import scrape
from casewatch.settings import Settings
from schemas.events import Referral
from streams.admin import ensure_topics
from streams.publish import Publisher
from streams.simulate import SimulationSpec, simulate


def log(message: str) -> None:
    print(f"[restarts {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class Worker:
    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings, self.log_path = settings, log_path
        env = dict(os.environ, **settings.deployment_env())
        with open(log_path, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "casewatch", "worker", "--metrics-host", "127.0.0.1", "--loglevel", "info"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        RUNNING.append(self)

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker exited; see {self.log_path}")
        return "Ready" in self.log_path.read_text(errors="replace")

    def consumed(self) -> float:
        return self.metric("casewatch_events_consumed_total")

    def metric(self, name: str) -> float:
        try:
            return scrape(f"http://127.0.0.1:{self.settings.metrics_port}/metrics", name)
        except OSError:
            return 0.0

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def wait(check: object, timeout: float) -> float:
    """Seconds until `check()` is true (polled every 50 ms); RuntimeError after `timeout`."""
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"not within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - started


def probe(index: int) -> Referral:
    now = datetime.now(UTC)
    return Referral(event_id=f"probe-{uuid.uuid4().hex[:8]}", child_id=f"C9{index:05d}", occurred_at=now,
                    recorded_at=now, team="Front Door", source="bench")  # fmt: skip


RUNNING: list["Worker"] = []  # killed on the way out, whatever happens


def run(args: argparse.Namespace, bootstrap: str) -> None:
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    tag = f"restart{uuid.uuid4().hex[:6]}"
    settings = Settings(bootstrap_servers=bootstrap, topic_prefix=tag, partitions=args.partitions, app_id=tag,
                        database_url=f"sqlite:///{work / (tag + '.db')}", metrics_port=free_port(),
                        state_dir=work / tag / "state")  # fmt: skip
    ensure_topics(bootstrap, settings.topics, app_id=settings.app_id)
    events = simulate(SimulationSpec(children=args.children, seed=7, months=args.months))
    log(f"loading {len(events):,} events for {args.children:,} children into {tag}.*")
    with Publisher(bootstrap, settings.topics) as publisher:
        for event in events:
            publisher.event(event)
    worker = Worker(settings, work / f"{tag}-0.log")
    started = time.monotonic()
    # The backlog: alerts raised and stored, every 5 s (finding 6: stored must keep up).
    while (consumed := worker.consumed()) < len(events):
        if time.monotonic() - started > args.timeout:
            raise RuntimeError("the first worker did not consume the backlog in time")
        raised, stored = (
            worker.metric("casewatch_alerts_raised_total"),
            worker.metric("casewatch_alerts_persisted_total"),
        )
        log(f"backlog {time.monotonic() - started:5.0f}s: consumed {consumed:,.0f}, alerts raised {raised:,.0f}, "
            f"stored {stored:,.0f}")  # fmt: skip
        time.sleep(5)
    took = time.monotonic() - started
    log(f"first worker consumed them all in {took:.0f}s ({len(events) / took:.0f} events/s)")
    time.sleep(3)  # a commit interval: what a kill loses is then only the last moments
    ready, consuming = [], []
    for kill in range(1, args.kills + 1):
        worker.kill()
        killed = time.monotonic()
        worker = Worker(settings, work / f"{tag}-{kill}.log")
        with Publisher(bootstrap, settings.topics) as publisher:
            publisher.event(probe(kill))
        wait(worker.ready, args.timeout)
        ready.append(time.monotonic() - killed)
        wait(lambda: worker.consumed() >= 1, args.timeout)  # noqa: B023 - this loop's worker
        consuming.append(time.monotonic() - killed)
        log(f"kill {kill}: ready after {ready[-1]:.1f}s, consuming after {consuming[-1]:.1f}s")
        time.sleep(args.pause)
    worker.kill()
    fresh = replace(settings, state_dir=work / tag / "empty-state", metrics_port=free_port())
    started = time.monotonic()
    cold = Worker(fresh, work / f"{tag}-cold.log")
    wait(cold.ready, args.timeout * 4)
    cold_ready = time.monotonic() - started
    cold.kill()
    print(
        f"children={args.children} months={args.months} events={len(events)} kills={args.kills} "
        f"kill_to_ready_median={statistics.median(ready):.1f}s "
        f"kill_to_consuming_median={statistics.median(consuming):.1f}s "
        f"kill_to_consuming=[{', '.join(f'{s:.1f}' for s in consuming)}] "
        f"empty_state_dir_start_to_ready={cold_ready:.1f}s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.restarts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--children", type=int, default=5000, help="simulated children (default 5,000)")
    parser.add_argument("--months", type=int, default=24,
                        help="months of simulated history (default 24); fewer gives as many children with fewer "
                             "events each, so a large state is reached sooner")  # fmt: skip
    parser.add_argument("--kills", type=int, default=5, help="kill -9 and restart this many times (default 5)")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between a restart and the next kill")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=1800, help="bound on each wait, seconds")
    parser.add_argument("--work", type=Path, default=Path(".bench/restarts"), help="working folder")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            bootstrap = stack.enter_context(LocalKafka(heap="1g")).bootstrap_servers
        try:
            run(args, bootstrap)
        finally:
            for worker in RUNNING:
                worker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
