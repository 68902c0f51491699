"""The compose Kafka's own files against a real broker: deploy/kafka/make-certs.sh makes the TLS
material, deploy/kafka/server.properties (as start.sh fills it in) configures the broker with the
SCRAM user stored at format time, and casewatch's Kafka settings (SASL_SSL, SCRAM-SHA-512, the
CA) create topics on it; a wrong password is refused.

No Docker engine runs here, so the broker is Kafka's jars (`make kafka`) on 127.0.0.1 with the
file's ports and paths moved into a temporary folder; every other line is the file's."""

import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from casewatch.local_kafka import LOG4J, fetch, free_port
from streams.admin import ensure_topics
from streams.kafka_security import KafkaSecurity
from streams.topics import Topics
from tests.prometheus_tools import ROOT

pytestmark = pytest.mark.integration
KAFKA_DIR = ROOT / "deploy" / "kafka"


def broker_config(work: Path, store_password: str, client: int, internal: int, controller: int) -> Path:
    """server.properties as start.sh writes it, with ports and paths moved to this machine's."""
    text = (KAFKA_DIR / "server.properties").read_text().replace("@STORE_PASSWORD@", store_password)
    text = text.replace("/etc/kafka/secrets/", f"{work}/certs/").replace("/var/lib/kafka/data", f"{work}/store")
    text = text.replace("CLIENT://:9094", f"CLIENT://127.0.0.1:{client}")
    text = text.replace("CLIENT://kafka:9094", f"CLIENT://localhost:{client}")
    text = re.sub(r"127\.0\.0\.1:19092", f"127.0.0.1:{internal}", text)
    text = re.sub(r"127\.0\.0\.1:9093", f"127.0.0.1:{controller}", text)
    path = work / "server.properties"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def compose_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, str]]:
    if shutil.which("java") is None or shutil.which("keytool") is None:
        pytest.skip("java and keytool are needed (.ci/run installs openjdk-17-jre-headless)")
    work = tmp_path_factory.mktemp("compose-kafka")
    (work / "certs").mkdir()
    made = subprocess.run(
        ["sh", str(KAFKA_DIR / "make-certs.sh"), str(work / "certs")],
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "KAFKA_CERT_HOST": "localhost"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    store_password = (work / "certs" / "store-password").read_text()
    client, internal, controller = free_port(), free_port(), free_port()
    properties = broker_config(work, store_password, client, internal, controller)
    (work / "log4j.properties").write_text(LOG4J.format(log=work / "broker.log"))
    java = ["java", "-Xmx512m", f"-Dlog4j.configuration=file:{work / 'log4j.properties'}", "-cp", f"{fetch()}/*"]
    password = secrets.token_hex(16)
    formatted = subprocess.run(
        [
            *java,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            "kCasewatchComposeTest1",
            "-c",
            str(properties),
            "--add-scram",
            f"SCRAM-SHA-512=[name=casewatch,password={password}]",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert formatted.returncode == 0, (formatted.stdout + formatted.stderr)[-2000:]
    with open(work / "stdout.log", "ab") as out:
        broker = subprocess.Popen([*java, "kafka.Kafka", str(properties)], stdout=out, stderr=out)
    try:
        ca = work / "certs" / "ca.pem"
        deadline = time.monotonic() + 90
        while True:  # serving once the right password signs in (the broker takes a few seconds)
            try:
                KafkaAdminClient(
                    bootstrap_servers=f"localhost:{client}", **security(ca, password).client_options()
                ).close()
                break
            except KafkaError:
                assert broker.poll() is None, (work / "stdout.log").read_text()[-3000:]
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
        yield client, ca, password
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait(timeout=10)


def security(ca: Path, password: str) -> KafkaSecurity:
    return KafkaSecurity(
        protocol="SASL_SSL", ca_file=ca, sasl_mechanism="SCRAM-SHA-512", username="casewatch", password=password
    )


def test_casewatch_creates_its_topics_over_sasl_ssl_on_the_compose_broker(
    compose_broker: tuple[int, Path, str],
) -> None:
    port, ca, password = compose_broker
    bootstrap = f"localhost:{port}"
    topics = Topics(prefix="compose", partitions=2)
    ensure_topics(bootstrap, topics, replication_factor=1, security=security(ca, password))
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **security(ca, password).client_options())
    try:
        assert set(topics.inputs) | {topics.alerts} <= set(admin.list_topics())
    finally:
        admin.close()


def test_a_wrong_password_is_refused(compose_broker: tuple[int, Path, str]) -> None:
    port, ca, _ = compose_broker  # the fixture has signed in with the right one
    with pytest.raises(KafkaError):
        admin = KafkaAdminClient(
            bootstrap_servers=f"localhost:{port}",
            # kafka-python retries a refused sign-in as an unreachable broker: bound its wait.
            api_version_auto_timeout_ms=5000,
            request_timeout_ms=5000,
            **security(ca, "wrong").client_options(),
        )
        admin.close()
