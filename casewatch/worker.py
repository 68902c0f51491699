"""Run the production worker: topics checked, metrics served, the Faust app started."""

import logging

from faust.worker import Worker
from prometheus_client import REGISTRY, start_http_server

from agents.live import create_app
from casewatch.config_file import load_input_policy, load_rules
from casewatch.delivery.config import load_routing
from casewatch.delivery.outbox import enqueuer
from casewatch.metrics import Metrics
from casewatch.settings import Settings, SettingsError
from casewatch.storage import connect
from streams.admin import ensure_topics


def run_worker(settings: Settings, *, loglevel: str = "warn", metrics_host: str = "0.0.0.0") -> None:
    """Block running the worker until SIGTERM or SIGINT; the process exits when it stops."""
    rules = load_rules(settings)  # a bad configuration file stops start-up here, before Kafka
    policy = load_input_policy(settings)
    if not settings.bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set: the worker needs a Kafka cluster")
    routing = load_routing(settings.config_path)  # a bad routing: section fails here, at start
    created = ensure_topics(settings.bootstrap_servers, settings.topics, replication_factor=settings.replication_factor)
    if created:
        logging.getLogger("casewatch.worker").warning("created topics %s", ", ".join(created))
    state_dir = settings.state_dir / settings.app_id
    state_dir.mkdir(parents=True, exist_ok=True)
    metrics = Metrics.create(REGISTRY)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=metrics_host, registry=REGISTRY)
    app = create_app(
        app_id=settings.app_id,
        bootstrap_servers=settings.bootstrap_servers,
        topics=settings.topics,
        rules=rules,
        engine=connect(settings.database_url),
        metrics=metrics,
        state_dir=str(state_dir),
        on_stored=enqueuer(routing),
        policy=policy,
    )
    Worker(app, loglevel=loglevel).execute_from_commandline()
