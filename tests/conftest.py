"""Shared fixtures. Integration tests get one real Kafka broker for the whole session.

With KAFKA_BOOTSTRAP_SERVERS set, that broker is used; otherwise a local KRaft broker
is started from the Maven Central jars (casewatch.local_kafka) and stopped at the end.
"""

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

from casewatch.local_kafka import KAFKA_VERSION, LocalKafka
from tests.databases import database_summary, database_url

# In CI the property tests draw the same examples every run: a failure there is reproducible
# and never a matter of luck; locally they keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

__all__ = ["database_url"]  # the fixture, shared with every test folder

_broker_description: list[str] = []


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        _broker_description.append(
            f"Kafka broker: {configured} (from KAFKA_BOOTSTRAP_SERVERS), {_api_version(configured)}"
        )
        yield configured
        return
    broker = LocalKafka()
    broker.start()
    _broker_description.append(
        f"Kafka broker: real Apache Kafka {broker.version} (KRaft) at {broker.bootstrap_servers}, "
        f"{_api_version(broker.bootstrap_servers)}"
    )
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


def _api_version(bootstrap: str) -> str:
    """What the broker itself reports, so the summary does not just repeat our setting."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        version = admin._client.check_version()
        return "API version " + ".".join(str(v) for v in version)
    finally:
        admin.close()


def pytest_report_header() -> str:
    where = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or f"local Apache Kafka {KAFKA_VERSION}, started on demand"
    return f"kafka: {where}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _broker_description + database_summary():
        terminalreporter.write_line(line)
