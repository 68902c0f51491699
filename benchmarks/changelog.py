"""Changelog bytes per input event: what the worker's state tables write to Kafka.

Loads N simulated events into a fresh deployment on a local broker, runs one worker
until it has consumed them all and its tables stop growing, then reads the two changelog
topics back whole and sums their records' key and value bytes. `--source` runs the worker
from another checkout (e.g. an older commit exported with `git archive`), for a before
and after on the same events and broker.

    python -m benchmarks.changelog --events 20000
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from benchmarks.run import events_for
from casewatch.local_kafka import LocalKafka, free_port, stop_on_sigterm
from casewatch.metrics import scrape
from casewatch.settings import Settings
from streams.admin import ensure_topics
from streams.publish import Publisher

TABLES = ("child-state", "team-state")


def topic_bytes(bootstrap: str, topic: str) -> tuple[int, int]:
    """(records, key + value bytes) of a whole topic."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in partitions]
        if not assigned:
            return 0, 0
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        records = size = 0
        deadline = time.monotonic() + 600
        while any(consumer.position(tp) < ends[tp] for tp in assigned) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                records += len(batch)
                size += sum(len(r.key or b"") + len(r.value or b"") for r in batch)
        return records, size
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        return sum(consumer.end_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.changelog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="simulated input events (default 100,000)")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--source", type=Path, help="run the worker from this checkout instead of this one")
    parser.add_argument("--work", type=Path, default=Path(".casewatch/changelog"))
    parser.add_argument("--timeout", type=float, default=3600, help="bound on the worker's run, seconds")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    stop_on_sigterm()
    events = events_for(args.events, seed=42)
    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            broker = LocalKafka()
            stack.callback(broker.stop)
            bootstrap = broker.start(timeout=600)  # a loaded machine starts the JVM slowly
        tag = f"cl{uuid.uuid4().hex[:8]}"
        config = args.work / "casewatch.yaml"
        config.write_text("rules:\n  timer_seconds: 1\n")
        settings = Settings(bootstrap_servers=bootstrap, topic_prefix=tag, partitions=args.partitions, app_id=tag,
                            database_url=f"sqlite:///{args.work / (tag + '.db')}", metrics_port=free_port(),
                            state_dir=args.work / "state", config_path=config)  # fmt: skip
        ensure_topics(bootstrap, settings.topics)
        with Publisher(bootstrap, settings.topics) as publisher:
            for event in events:
                publisher.event(event)
        env = dict(os.environ, **settings.deployment_env())
        if args.source is not None:
            env["PYTHONPATH"] = str(args.source.resolve())
        log = open(args.work / f"{tag}.log", "wb")  # noqa: SIM115 - closed with the process
        worker = subprocess.Popen([sys.executable, "-m", "casewatch", "worker", "--metrics-host", "127.0.0.1"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, cwd=args.source or None)  # fmt: skip
        started = time.monotonic()
        try:
            metrics = f"http://127.0.0.1:{settings.metrics_port}/metrics"
            consumed, seen, last, still = 0.0, -1.0, -1, 0
            while still < 10:  # nothing more consumed, and the team table quiet, for 10 s
                if worker.poll() is not None or time.monotonic() - started > args.timeout:
                    raise SystemExit(f"the worker stopped or timed out; see {args.work / (tag + '.log')}")
                time.sleep(1)
                try:
                    consumed = scrape(metrics, "casewatch_events_consumed_total")
                except OSError:
                    continue
                size = end_offsets(bootstrap, f"{tag}-team-state-changelog")
                still = still + 1 if consumed > 0 and consumed == seen and size == last else 0
                seen, last = consumed, size
            seconds = time.monotonic() - started - 10
        finally:
            worker.terminate()
            worker.wait(60)
        result: dict[str, object] = {"events": len(events), "consumed": consumed, "worker_seconds": round(seconds, 1)}
        for table in TABLES:
            records, size = topic_bytes(bootstrap, f"{tag}-{table}-changelog")
            result[table] = {"records": records, "bytes": size, "bytes_per_event": round(size / len(events), 1)}
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
