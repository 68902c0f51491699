"""`make bench`: live throughput, baselines, latency, replay and memory, in one run.

Every figure comes from this machine in this run, on one broker, so ratios hold even
when the machine is noisy. Writes bench-results.json and the measured table in
docs/benchmarks.md (between the markers; the prose around it is kept).
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from sqlalchemy import create_engine, text

from agents.replay import replay
from agents.rules import ALL_RULES, EventRule, RulesConfig, parse_rules_config
from benchmarks.memory import state_sizes
from benchmarks.profile_owners import breakdown
from benchmarks.report import checks, render
from casewatch.local_kafka import LocalKafka, free_port, stop_on_sigterm
from casewatch.metrics import scrape
from casewatch.settings import Settings
from casewatch.storage import connect, count_alerts
from schemas.events import CaseEvent
from streams.admin import ensure_topics
from streams.codec import Rejection
from streams.jsonl import read_jsonl, write_jsonl
from streams.publish import Publisher
from streams.simulate import SimulationSpec, simulate

REREFERRAL = "rereferral_after_agreement"
# The workers' clock ticks every second, so the time-driven rules' alerts follow within a
# few seconds of the last event; replay judges them as of today, as that clock does. The
# live steps' events are on the topics before the workers start (the latency step keeps
# publishing), so a partition quiet for 5 s once caught up is quiet indeed: the default 60 s
# would add a fixed minute of waiting to every step's time to its last alert.
RULES_YAML = "rules:\n  timer_seconds: 1\n  quiet_seconds: 5\n"
RULES: RulesConfig = parse_rules_config({"timer_seconds": 1, "quiet_seconds": 5})
# Rules an event triggers: their alerts have an event-to-alert latency (the clock's have none).
EVENT_DRIVEN = frozenset(rule.id for rule in ALL_RULES if isinstance(rule, EventRule))


def expect(events: list[CaseEvent]) -> dict[str, int]:
    """Alerts per rule that replay, as of today, raises from these events: what a worker must store."""
    today = datetime.now(UTC).date()
    return dict(Counter(a.rule for a in replay(events, RULES, as_of=today).alerts.values()))


EVENTS_PER_CHILD = 6.3  # what the simulator produces on average over 24 months
MEMORY_SAMPLE = 20_000  # children whose in-memory state is walked (the walk is slow)
PROGRESS_SECONDS = 10  # a line on stderr this often while a step runs
# How often the live steps count the stored alerts: a count of 200,000 rows is not free on
# the two cores the worker shares, and 0.5 s is under 1% of the shortest step.
POLL_SECONDS = 0.5
STEPS = ("live", "faust", "aiokafka", "quix", "scaleout", "latency", "replay")
START_MARK, END_MARK = "<!-- bench:start -->", "<!-- bench:end -->"


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def events_for(n: int, seed: int) -> list[CaseEvent]:
    """Exactly n simulated events (the simulator works in children; the tail is cut)."""
    events = simulate(SimulationSpec(children=max(1, int(n / EVENTS_PER_CHILD) + 1), seed=seed))
    while len(events) < n:
        seed += 1000
        events += simulate(SimulationSpec(children=max(1, int((n - len(events)) / 4) + 1), seed=seed))
    return events[:n]


class Bench:
    def __init__(self, args: argparse.Namespace, bootstrap: str, work: Path) -> None:
        self.args = args
        self.bootstrap = bootstrap
        self.work = work.resolve()  # absolute: a worker from another checkout runs in that folder
        self.results: dict[str, Any] = {}
        self.live_settings: Settings | None = None  # the loaded topics, which the baselines reread
        self.config = self.work / "casewatch.yaml"  # absolute: read from the before checkout too
        self.config.write_text(RULES_YAML)

    def deployment(self, name: str, partitions: int) -> Settings:
        tag = f"bench{name}{uuid.uuid4().hex[:6]}"
        settings = Settings(
            bootstrap_servers=self.bootstrap,
            topic_prefix=tag,
            partitions=partitions,
            app_id=tag,
            database_url=f"sqlite:///{self.work / (tag + '.db')}",
            metrics_port=free_port(),
            state_dir=self.work / "state",
            config_path=self.config,
        )
        ensure_topics(self.bootstrap, settings.topics)
        return settings

    def worker(
        self, settings: Settings, log_name: str, source: Path | None = None, role: str | None = None
    ) -> subprocess.Popen[bytes]:
        """A `casewatch worker` process; from the checkout `source` if given (a before and after)."""
        env = dict(os.environ, **settings.deployment_env())
        if source is not None:
            env["PYTHONPATH"] = str(source)
        out = open(self.work / log_name, "wb")  # noqa: SIM115 - closed with the process
        command = [sys.executable, "-m", "casewatch", "worker", "--metrics-host", "127.0.0.1", "--loglevel", "info"]
        return subprocess.Popen(
            command + (["--role", role] if role else []), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=source
        )

    def workers(
        self, each: list[Settings], name: str, source: Path | None
    ) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
        """The deployment's processes, the correlate workers first: with `--one-process` (or a
        `source` checkout from before worker roles) one worker of role all per settings; else
        a worker of role correlate per settings and one store process beside them."""
        split = not self.args.one_process and (source is None or (source / "casewatch" / "roles.py").exists())
        roles: list[str | None] = ["correlate"] * len(each) if split else [None] * len(each)
        logs = [f"{name}-worker{i}.log" for i in range(len(each))]
        if split:
            each = [*each, replace(each[0], metrics_port=free_port(), state_dir=self.work / "state-store")]
            roles.append("store")
            logs.append(f"{name}-store.log")
        processes = [
            self.worker(s, log_name, source, role) for s, log_name, role in zip(each, logs, roles, strict=True)
        ]
        return processes, logs

    def wait_ready(self, process: subprocess.Popen[bytes], log_name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "Ready" not in (self.work / log_name).read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start; see {self.work / log_name}")
            time.sleep(0.2)

    # 1. live throughput (and 5. scale-out: the same with more workers) ------------------
    def live(
        self, events: list[CaseEvent], expected: dict[str, int], workers: int = 1, source: Path | None = None
    ) -> dict[str, Any]:
        """N workers of one deployment, from their start to the last expected alert stored
        (`source`: one worker from that checkout, the "before" of a before and after)."""
        name = "before" if source else "live" if workers == 1 else f"live{workers}w"
        settings = self.deployment(name, self.args.partitions)
        if name == "live":
            self.live_settings = settings
        log(f"{name}: loading {len(events):,} events into {settings.topic_prefix}.*")
        started = time.monotonic()
        with Publisher(self.bootstrap, settings.topics) as publisher:
            for event in events:
                publisher.event(event)
        self.results.setdefault("load_seconds", time.monotonic() - started)
        # The database is the workers' to make: another checkout's may be at another revision.
        engine = create_engine(settings.database_url) if source else connect(settings.database_url)
        want = sum(expected.values())
        # Each worker its own state directory (RocksDB) and metrics port, as two hosts would have.
        each = [settings] + [
            replace(settings, metrics_port=free_port(), state_dir=self.work / f"state-{i}") for i in range(1, workers)
        ]
        log(f"{name}: {workers} casewatch worker(s), expecting {want:,} alerts")
        started = time.monotonic()
        processes, logs = self.workers(each, name, source)
        profile = None
        try:
            for process, log_name in zip(processes, logs, strict=True):
                self.wait_ready(process, log_name)
            idle_rss = [rss_bytes(p.pid) for p in processes]
            cpu_at_ready, machine_at_ready = [cpu_seconds(p.pid) for p in processes], machine_cpu()
            if self.args.profile and name == "live":
                profile = self.profile(processes[0].pid)
            deadline = time.monotonic() + self.args.timeout
            next_progress = time.monotonic() + PROGRESS_SECONDS
            next_scrape, all_consumed = time.monotonic(), None  # when the last event was consumed
            while (stored := count_alerts(engine=engine)) < want:
                exited = [log_name for p, log_name in zip(processes, logs, strict=True) if p.poll() is not None]
                if exited or time.monotonic() > deadline:
                    why = f"{', '.join(exited)} exited" if exited else f"not all within {self.args.timeout:,.0f} s"
                    raise RuntimeError(
                        f"{name}: casewatch stored {stored:,} of {want:,} alerts ({why}; logs in {self.work})"
                    )
                if all_consumed is None and time.monotonic() > next_scrape:
                    if sum(consumed_events(s) for s in each) >= len(events):
                        all_consumed = time.monotonic() - started
                    next_scrape += 1
                if time.monotonic() > next_progress:
                    log(f"{name}: {stored:,} of {want:,} alerts stored, {time.monotonic() - started:,.0f} s")
                    next_progress += PROGRESS_SECONDS
                time.sleep(POLL_SECONDS)
            seconds = time.monotonic() - started
            consumed = sum(consumed_events(s) for s in each)
            busy_rss = [rss_bytes(p.pid) for p in processes]
            # Where the cores went from Ready to the end: each process, and the machine as a
            # whole (the broker and anything else on it), to tell a saturated machine apart.
            cpu = [cpu_seconds(p.pid) - at for p, at in zip(processes, cpu_at_ready, strict=True)]
            machine_now = machine_cpu()
            busy = (machine_now[0] - machine_at_ready[0]) / max(1, machine_now[1] - machine_at_ready[1])
            store_bytes = scrape(f"http://127.0.0.1:{settings.metrics_port}/metrics", "casewatch_state_store_bytes")
        finally:
            if profile is not None:
                profile.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
                profile.wait(timeout=300)
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
        by_rule = dict(
            Counter(
                row.rule
                for row in engine.connect().execute(text("SELECT rule FROM alerts"))  # one row per alert
            )
        )
        result = {
            "workers": workers,
            "processes": len(processes),
            "events": len(events),
            "events_consumed": consumed,
            "seconds": seconds,
            "events_per_second": len(events) / seconds,
            "cpu_seconds_by_process": {n.removesuffix(".log"): round(c, 1) for n, c in zip(logs, cpu, strict=True)},
            "machine_cpu_busy": busy,
            # The clock's alerts come after the last event: without them, the events' own pace.
            "seconds_to_all_consumed": all_consumed or seconds,
            "alerts_by_rule": by_rule,
            "alerts_expected_by_replay": expected,
        }
        if source is not None:
            self.results["before"] = result | {"source": str(source)}
        elif workers == 1:
            self.results["live"] = result
            children = len({e.child_id for e in events})
            # The worker holds the children's state; a store process's memory is bounded by its
            # batches, not the children, and is given beside it.
            self.results["memory"] = {
                "children": children,
                "worker_rss_idle_bytes": idle_rss[0],
                "worker_rss_after_bytes": busy_rss[0],
                "rss_per_100k_children_bytes": (busy_rss[0] - idle_rss[0]) / children * 100_000,
                "state_store_bytes_per_child": store_bytes / children,
            } | ({"store_rss_after_bytes": busy_rss[-1]} if len(processes) > workers else {})
            if profile is not None:
                self.results["profile"] = self.profile_breakdown()
        else:
            self.results.setdefault("scaleout", {})[str(workers)] = result
        log(
            f"{name}: {len(events) / seconds:,.0f} events/s, "
            f"alerts {'equal to' if by_rule == expected else 'DIFFER FROM'} replay's"
        )
        return result

    def profile(self, pid: int) -> subprocess.Popen[bytes] | None:
        """py-spy on the worker (all its threads), from Ready until the step ends."""
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            log("py-spy not found: no profile")
            return None
        out = self.work / "profile.txt"
        out.unlink(missing_ok=True)
        return subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def profile_breakdown(self) -> dict[str, Any]:
        path = self.work / "profile.txt"
        if not path.exists():
            log("py-spy wrote no profile")
            return {}
        with open(path) as lines:
            samples = breakdown(lines)
        return {"file": str(path), "samples_by_owner": samples}

    # 2. faust floor --------------------------------------------------------------------
    def faust_floor(self, n: int) -> None:
        settings = self.live_settings
        assert settings is not None, "run live() first: it loads the topics"
        log("faust floor: take_events and one table write per key per batch")
        result = self.child_process(
            "benchmarks.faust_floor", self.bootstrap, ",".join(settings.topics.inputs),
            f"{settings.topic_prefix}-floor", str(settings.partitions), str(n),
        )  # fmt: skip
        result["events_per_second"] = result["events"] / result["seconds"]
        self.results["faust_floor"] = result
        log(f"faust floor: {result['events_per_second']:,.0f} events/s")

    # 2a. aiokafka ----------------------------------------------------------------------
    def aiokafka(self, n: int) -> None:
        settings = self.live_settings
        assert settings is not None, "run live() first: it loads the topics"
        out_topic = f"{settings.topic_prefix}.echo"
        create_topic(self.bootstrap, out_topic, settings.partitions)
        result = self.child_process(
            "benchmarks.aiokafka_loop", self.bootstrap, ",".join(settings.topics.inputs),
            f"{settings.topic_prefix}-aiokafka", out_topic, str(n),
        )  # fmt: skip
        result["events_per_second"] = result["events"] / result["seconds"]
        self.results["aiokafka"] = result
        log(f"aiokafka loop: {result['events_per_second']:,.0f} events/s")

    # 2b. Quix Streams ------------------------------------------------------------------
    def quix(self, n: int) -> None:
        settings = self.live_settings
        assert settings is not None, "run live() first: it loads the topics"
        result = self.child_process(
            "benchmarks.quix_rule", self.bootstrap, ",".join(settings.topics.inputs),
            f"{settings.topic_prefix}-quix", str(n),
        )  # fmt: skip
        result["events_per_second"] = result["events"] / result["seconds"]
        self.results["quix"] = result
        log(f"Quix Streams: {result['events_per_second']:,.0f} events/s, {result['alerts']} alerts")

    def child_process(self, module: str, *args: str) -> dict[str, Any]:
        out = self.work / f"{module.rsplit('.', 1)[-1]}.json"
        with open(self.work / f"{module.rsplit('.', 1)[-1]}.log", "wb") as log_file:
            subprocess.run(
                [sys.executable, "-m", module, *args, str(out)],
                check=True,
                timeout=self.args.timeout,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        result: dict[str, Any] = json.loads(out.read_text())
        return result

    # 3. latency ------------------------------------------------------------------------
    def latency(self, rate: int) -> None:
        settings = self.deployment(f"lat{rate}", self.args.partitions)
        events = events_for(rate * self.args.latency_seconds, seed=rate)
        want = sum(n for rule, n in expect(events).items() if rule in EVENT_DRIVEN)
        engine = connect(settings.database_url)
        processes, logs = self.workers([settings], f"latency-{rate}", None)
        try:
            for process, log_name in zip(processes, logs, strict=True):
                self.wait_ready(process, log_name)
            log(f"offering {len(events):,} events at {rate}/s")
            with Publisher(self.bootstrap, settings.topics) as publisher:
                started = time.monotonic()
                for index, event in enumerate(events):
                    due = started + index / rate
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    publisher.event(event)
                    if index % max(1, rate // 100) == 0:
                        publisher.flush()  # offered means on the broker, not in a client buffer
                offered_seconds = time.monotonic() - started
            deadline = time.monotonic() + 60
            while len(alert_latencies(engine)) < want and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
        samples = sorted(alert_latencies(engine))
        self.results.setdefault("latency", {})[str(rate)] = {
            "offered_events": len(events),
            "achieved_rate": len(events) / offered_seconds,
            "alerts": len(samples),
            "alerts_expected": want,
            "p50_ms": percentile(samples, 50) * 1000,
            "p95_ms": percentile(samples, 95) * 1000,
            "p99_ms": percentile(samples, 99) * 1000,
        }
        log(f"latency at {rate}/s: p99 {percentile(samples, 99) * 1000:.0f} ms over {len(samples)} alerts")

    # 4. replay -------------------------------------------------------------------------
    def replay_speed(self, events: list[CaseEvent]) -> None:
        path = self.work / "events.jsonl"
        with open(path, "w") as out:
            write_jsonl(events, out)
        started = time.monotonic()
        parsed = [line.result for line in read_jsonl(path)]
        result = replay([e for e in parsed if not isinstance(e, Rejection)], RULES)
        seconds = time.monotonic() - started
        sizes = [state_sizes(state, deep=i < MEMORY_SAMPLE) for i, state in enumerate(result.states.values())]
        as_json = [size.json for size in sizes]
        in_memory = [size.memory for size in sizes if size.memory is not None]
        self.results["replay"] = {
            "events": result.events,
            "seconds": seconds,
            "events_per_second": result.events / seconds,
            "alerts": len(result.alerts),
        }
        self.results["memory"] |= {
            "state_json_bytes_per_child_mean": sum(as_json) / len(as_json),
            "state_json_bytes_per_child_max": max(as_json),
            "state_memory_bytes_per_child_mean": sum(in_memory) / len(in_memory),
            "state_memory_bytes_per_child_max": max(in_memory),
            "state_memory_children_measured": len(in_memory),
        }
        log(f"replay: {result.events / seconds:,.0f} events/s")


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def consumed_events(settings: Settings) -> float:
    return scrape(f"http://127.0.0.1:{settings.metrics_port}/metrics", "casewatch_events_consumed_total")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[int, int]:
    """(busy, all) CPU time of the whole machine so far, in clock ticks (/proc/stat)."""
    # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    ticks = [int(t) for t in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def alert_latencies(engine: Any) -> list[float]:
    """Seconds from the triggering event reaching Kafka to its alert first stored."""
    samples = []
    with engine.connect() as connection:
        for payload, stored in connection.execute(text("SELECT payload, first_stored_at FROM alerts")):
            ingested = json.loads(payload).get("ingested_at")
            if ingested is None:
                continue
            stored_at = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
            stored_at = stored_at.replace(tzinfo=UTC) if stored_at.tzinfo is None else stored_at
            samples.append((stored_at - datetime.fromisoformat(ingested)).total_seconds())
    return samples


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    index = min(len(samples) - 1, max(0, round(p / 100 * len(samples) + 0.5) - 1))
    return samples[index]


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("faust-streaming", "aiokafka", "kafka-python", "quixstreams", "pydantic")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument(
        "--events",
        type=int,
        default=1_000_000,
        help="events for live, baselines, scale-out and replay (default 1,000,000)",
    )
    parser.add_argument("--rates", default="200,1000", help="offered rates for latency, events/s (default 200,1000)")
    parser.add_argument("--latency-seconds", type=int, default=30, help="seconds offered at each rate (default 30)")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=3600, help="bound on each step, seconds")
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help=f"which steps to run (default: all, {','.join(STEPS)}); live always runs",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy over the whole live step, by owner")
    parser.add_argument(
        "--before", type=Path, help="also run the live step with the worker from this checkout (a before and after)"
    )
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="run each worker as one process of role all (default: role correlate, and one store process "
        "beside the workers, as docker-compose.yml runs them)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--doc", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--work", type=Path, default=Path(".casewatch/bench"))
    args = parser.parse_args(argv)
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])

    args.work.mkdir(parents=True, exist_ok=True)
    stop_on_sigterm()
    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        kafka_version = "external"
        if not bootstrap:
            broker = stack.enter_context(LocalKafka(heap="1g"))
            bootstrap, kafka_version = broker.bootstrap_servers, broker.version
        bench = Bench(args, bootstrap, args.work)
        log(f"simulating {args.events:,} events")
        events = events_for(args.events, seed=42)
        expected = expect(events)
        steps = set(args.steps.split(","))
        if unknown := steps - set(STEPS):
            parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
        bench.live(events, expected)  # always: it loads the topics the baselines read
        if "faust" in steps:
            bench.faust_floor(len(events))
        if "aiokafka" in steps:
            bench.aiokafka(len(events))
        if "quix" in steps:
            bench.quix(len(events))
        if "scaleout" in steps:
            bench.live(events, expected, workers=2)
        if args.before is not None:
            bench.live(events, expected, source=args.before.resolve())
        for rate in (int(r) for r in args.rates.split(",") if r and "latency" in steps):
            bench.latency(rate)
        if "replay" in steps:
            bench.replay_speed(events)
    results = bench.results | {
        "command": command,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine() | {"kafka": kafka_version},
    }
    if steps != set(STEPS):
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        log(f"partial run: wrote {args.out} only")
        return 0
    live = results["live"]["events_per_second"]
    results["ratios"] = {
        "casewatch_over_aiokafka": live / results["aiokafka"]["events_per_second"],
        "casewatch_over_quix": live / results["quix"]["events_per_second"],
        "casewatch_over_faust_floor": live / results["faust_floor"]["events_per_second"],
        "two_workers_over_one": results["scaleout"]["2"]["events_per_second"] / live,
        "quix_rereferral_alerts_match": results["quix"]["alerts"]
        == results["live"]["alerts_by_rule"].get(REREFERRAL, 0),
    }
    results["checks"] = checks(results)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for check in results["checks"]:
        log(
            f"{'pass' if check['passed'] else 'FAIL'}: {check['measure']}: "
            f"{check['measured']} (target {check['target']})"
        )
    write_doc(args.doc, results)
    log(f"wrote {args.out} and {args.doc}")
    return 0


def write_doc(path: Path, r: dict[str, Any]) -> None:
    table = render(r)
    before, after = "", ""
    if path.exists():
        current = path.read_text()
        if START_MARK in current and END_MARK in current:
            before = current.split(START_MARK)[0]
            after = current.split(END_MARK)[1]
    if not before:
        before = "# Benchmarks\n\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{before}{START_MARK}\n{table}{END_MARK}{after}")


if __name__ == "__main__":
    raise SystemExit(main())
