"""Run the production worker: topics checked, metrics and health served, the Faust app started."""

import asyncio
import hashlib
import logging
import os
import socket
from pathlib import Path

from faust.worker import Worker
from prometheus_client import REGISTRY

from agents import storing
from agents.live import HEARTBEAT_SECONDS, SESSION_TIMEOUT_SECONDS, create_app
from agents.persist import GroupMember
from agents.supervisor import Supervisor
from casewatch.config_file import load_input_policy, load_rules
from casewatch.delivery.config import load_routing
from casewatch.delivery.outbox import enqueuer
from casewatch.event_loop import use_uvloop
from casewatch.metrics import Metrics, at_most_every
from casewatch.ops_http import serve_ops
from casewatch.redaction import install_log_redaction
from casewatch.roles import Role
from casewatch.settings import Settings, SettingsError
from casewatch.storage import connect
from streams.admin import ensure_topics

LOG_LEVELS = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
              "debug": logging.DEBUG}  # fmt: skip  # the --loglevel names, Faust's
STORE_GAUGE_SECONDS = 10.0  # the state store's size on disk moves slowly: walked at most this often


def run_worker(
    settings: Settings, *, loglevel: str = "warn", metrics_host: str = "127.0.0.1", role: Role = "all"
) -> None:
    """Block running the worker until SIGTERM or SIGINT; the process exits when it stops.

    `role`: `all` runs the Faust agents and the store consumers in this process; `correlate`
    only the agents (they need no database); `store` only the consumers that write alerts and
    timelines into the database (agents.storing), which then take a core of their own."""
    use_uvloop()
    rules = load_rules(settings)  # a bad configuration file stops start-up here, before Kafka
    policy = load_input_policy(settings)
    if not settings.bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set: the worker needs a Kafka cluster")
    routing = load_routing(settings.config_path)  # a bad routing: section fails here, at start
    # Every topic, the tables' changelogs too, before any agent starts (none can crash for want of one).
    created = ensure_topics(
        settings.bootstrap_servers,
        settings.topics,
        replication_factor=settings.replication_factor,
        app_id=settings.app_id,
        security=settings.kafka_security,
    )
    if created:
        logging.getLogger("casewatch.worker").warning("created topics %s", ", ".join(created))
    state_dir = settings.state_dir / settings.app_id
    state_dir.mkdir(parents=True, exist_ok=True)
    metrics = Metrics.create(REGISTRY)
    supervisor = Supervisor(metrics, holds_inputs=role != "store")
    if role != "store":
        metrics.state_store_bytes.set_function(at_most_every(STORE_GAUGE_SECONDS, lambda: directory_bytes(state_dir)))
    if settings.metrics_port:
        serve_ops(settings.metrics_port, metrics_host, REGISTRY, supervisor.unready)
    if role == "store":
        logging.getLogger().setLevel(LOG_LEVELS[loglevel])  # the CLI's handlers, which redact (Faust sets its own)
        metrics.start_at_zero(event_types=(), topics=(), rules=(), agents=storing.AGENTS)
        asyncio.run(
            storing.run_store(
                app_id=settings.app_id,
                bootstrap_servers=settings.bootstrap_servers,
                topics=settings.topics,
                policy=policy,
                engine=connect(settings.database_url),
                on_stored=enqueuer(routing),
                supervisor=supervisor,
                metrics=metrics,
                member=GroupMember(
                    instance_id=instance_id(settings.app_id, state_dir),
                    session_timeout_seconds=SESSION_TIMEOUT_SECONDS,
                    heartbeat_seconds=HEARTBEAT_SECONDS,
                    security=settings.kafka_security,
                ),
            )
        )
        return
    app = create_app(
        app_id=settings.app_id,
        bootstrap_servers=settings.bootstrap_servers,
        topics=settings.topics,
        rules=rules,
        engine=connect(settings.database_url) if role == "all" else None,
        metrics=metrics,
        state_dir=str(state_dir),
        on_stored=enqueuer(routing),
        instance_id=instance_id(settings.app_id, state_dir),
        policy=policy,
        supervisor=supervisor,
        security=settings.kafka_security,
    )
    RedactingWorker(app, loglevel=loglevel).execute_from_commandline()


def directory_bytes(folder: Path) -> float:
    """Bytes in the files under `folder` (a store may be writing: files that vanish are skipped).

    Read at each scrape: os.walk, not Path.rglob, which took 4x as long (2.5% of a worker's
    samples with /metrics read every second, a million events: docs/benchmarks.md)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name), follow_symlinks=False).st_size
            except OSError:
                continue
    return float(total)


def instance_id(app_id: str, state_dir: Path) -> str:
    """This worker's static identity in its consumer group: its host and state directory.

    Each worker has a state directory of its own (two sharing one would also share their
    RocksDB stores), so no two running workers have one id, and a worker restarted on its
    directory is the same member again: it gets its partitions back without waiting for its
    old session to time out.
    """
    where = f"{socket.gethostname()}:{state_dir.resolve()}"
    return f"{app_id}-{hashlib.sha256(where.encode()).hexdigest()[:16]}"


class RedactingWorker(Worker):
    """Faust's worker, whose log handlers (set up by Faust, replacing ours) scrub secrets too."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        install_log_redaction()
