"""casewatch on a Kafka that asks for TLS and SASL, as a council's cluster would.

One local broker for the module, with a SASL_SSL listener only: certificates made here
(openssl, keytool), client certificates required, one user who may sign in with PLAIN,
SCRAM-SHA-256 or SCRAM-SHA-512. The real `casewatch worker` and `casewatch ingest` processes
are given the settings through the environment (the password through a secret file) and
raise the alert; each client library connects with each mechanism; and a client without
the right password, without a client certificate, or without TLS at all, is refused.
"""

import asyncio
import logging
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from casewatch.local_kafka import LocalKafka, SaslSslListener
from casewatch.storage import connect, list_alerts
from schemas.alerts import Alert
from streams.admin import ensure_topics
from streams.async_publish import AsyncPublisher, KafkaUnavailable
from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.publish import Publisher, Record
from streams.topics import Topics
from tests.integration.support import Deployment, read_topic, running_worker, wait_until
from tests.integration.test_ingest_end_to_end import source_files
from tests.kafka_certs import Certificates, make_certificates

USER = "casewatch-worker"


@dataclass(frozen=True)
class SecuredKafka:
    bootstrap: str
    certificates: Certificates
    password_file: Path

    def security(self, mechanism: str = "SCRAM-SHA-512", **changes: object) -> KafkaSecurity:
        """The settings a casewatch process is given for this broker; `changes` make them wrong."""
        right = KafkaSecurity(
            protocol="SASL_SSL",
            ca_file=self.certificates.ca,
            cert_file=self.certificates.client_cert,
            key_file=self.certificates.client_key,
            sasl_mechanism=mechanism,
            username=USER,
            password=self.password_file.read_text().strip(),
            password_file=self.password_file,
        )
        return replace(right, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    folder = tmp_path_factory.mktemp("sasl-ssl")
    certificates = make_certificates(folder / "certificates")
    password = secrets.token_hex(16)
    password_file = folder / "kafka-password"
    password_file.write_text(password + "\n")  # as a secret file is usually written
    listener = SaslSslListener(keystore=certificates.keystore, truststore=certificates.truststore,
                               store_password=certificates.store_password, users={USER: password})  # fmt: skip
    with LocalKafka(sasl_ssl=listener) as broker:
        yield SecuredKafka(broker.bootstrap_servers, certificates, password_file)


def test_worker_and_ingest_over_sasl_ssl_raise_the_alert(secured: SecuredKafka, tmp_path: Path) -> None:
    created = Deployment.create(secured.bootstrap, tmp_path)
    deployment = replace(created, settings=replace(created.settings, kafka_security=secured.security()))
    settings = deployment.settings
    assert "KAFKA_SASL_PASSWORD" not in settings.deployment_env()  # the processes read the secret file
    with running_worker(deployment) as worker:  # the worker creates the topics, over SASL_SSL too
        ingested = deployment.run_cli("ingest", *source_files(tmp_path))
        assert ingested.returncode == 3, ingested.stderr  # the sources hold one refused record
        assert ingested.stdout.startswith("accepted 6 events")

        def rereferral() -> list[Alert]:
            stored = list_alerts(engine=connect(settings.database_url))
            return [a for a in stored if a.rule == "rereferral_after_agreement" and a.child_id == "C1"]

        alert = wait_until(rereferral, 90, worker.describe)[0]
        log = worker.log.read_text(errors="replace")
    on_topic = read_topic(secured.bootstrap, settings.topics.alerts, settings.partitions,
                          security=settings.kafka_security)  # fmt: skip
    assert alert.alert_id in {Alert.model_validate_json(r.value).alert_id for r in on_topic}
    assert secured.password_file.read_text().strip() not in log


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_each_client_library_publishes_and_consumes_with_the_mechanism(secured: SecuredKafka, mechanism: str) -> None:
    security = secured.security(mechanism)
    topics = Topics(prefix=f"t{secrets.token_hex(5)}", partitions=1)
    ensure_topics(secured.bootstrap, topics, security=security)  # kafka-python's admin client
    with Publisher(secured.bootstrap, topics, security=security) as publisher:  # kafka-python's producer
        publisher.raw(topics.dead_letter, key=b"kafka-python", value=b"{}")

    async def publish() -> list[str | None]:
        aio = AsyncPublisher(secured.bootstrap, topics, security=security, timeout=30)  # aiokafka
        try:
            return await aio.publish([Record(topics.dead_letter, b"aiokafka", b"{}")])
        finally:
            await aio.close()

    assert asyncio.run(publish()) == [None]
    keys = [r.key for r in read_topic(secured.bootstrap, topics.dead_letter, 1, security=security)]
    assert sorted(keys) == [b"aiokafka", b"kafka-python"]


# How a client gets it wrong, and what aiokafka logs when the broker refuses it.
REFUSED = {
    "wrong-password": ({"password": "not-the-password", "password_file": None}, "SaslAuthenticationFailed"),
    "no-client-certificate": ({"cert_file": None, "key_file": None}, "closed"),  # the TLS handshake fails
    "plaintext": (None, "closed"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_client_without_the_credentials_is_refused(
    secured: SecuredKafka, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    changes, logged = REFUSED[case]
    security = PLAINTEXT if changes is None else secured.security(**changes)
    publisher = AsyncPublisher(secured.bootstrap, Topics(prefix="refused", partitions=1), security=security, timeout=20)
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaUnavailable):
        asyncio.run(publisher.publish([Record("refused.referrals", b"C1", b"{}")]))
    assert logged in caplog.text


def test_casewatch_topics_says_at_once_that_the_sign_in_was_refused(secured: SecuredKafka, tmp_path: Path) -> None:
    """kafka-python retries a refused sign-in as if the broker were down; the command says what it is."""
    wrong = secured.security(password="not-the-password", password_file=None)
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": secured.bootstrap, **wrong.environment()}
    # Given 60 s to reach Kafka, it must not use them: the subprocess is allowed 30.
    done = subprocess.run([sys.executable, "-m", "casewatch", "topics", "--timeout", "60"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"casewatch: Kafka at {secured.bootstrap} refused the sign-in (")
    assert done.stderr.count("\n") == 1 and "not-the-password" not in done.stderr
