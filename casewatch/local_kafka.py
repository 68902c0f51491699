"""A real Apache Kafka broker on 127.0.0.1, for the demo and the tests, without Docker.

The jars come from Maven Central through `mvn` into a cache outside the repository
(once; later starts reuse them). The broker runs in KRaft mode as one node that is both
controller and broker, in a folder of its own, and is stopped cleanly.

By default its one client listener is PLAINTEXT, for the demo and the tests. With a
`SaslSslListener` it is SASL_SSL instead, as a council's cluster would be: TLS with the
keystore given (and client certificates required), and users who sign in with PLAIN,
SCRAM-SHA-256 or SCRAM-SHA-512. The controller listener stays PLAINTEXT on loopback.
"""

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

KAFKA_VERSION = "3.8.1"
SCALA_VERSION = "2.13"
SLF4J_VERSION = "1.7.36"

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>casewatch</groupId><artifactId>kafka-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>{slf4j}</version></dependency>
  </dependencies>
</project>
"""

LOG4J = """log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
"""

READY_LINE = "Kafka Server started"


class KafkaSetupError(RuntimeError):
    """The local broker could not be fetched or started; the message says what to do."""


@dataclass(frozen=True)
class SaslSslListener:
    """A SASL_SSL client listener: the broker's TLS stores and the users who may sign in."""

    keystore: Path  # PKCS12: the broker's key and its certificate for 127.0.0.1
    truststore: Path  # PKCS12: the CA that client certificates (and the broker's own) are checked against
    store_password: str  # of both stores, and of the key in the keystore
    users: Mapping[str, str]  # name -> password, for PLAIN and both SCRAM mechanisms
    client_certificates: bool = True  # ssl.client.auth=required: a client without one is refused

    def __post_init__(self) -> None:
        quoted = [self.store_password, *self.users, *self.users.values()]
        if not self.users or any(not value or '"' in value or "\\" in value for value in quoted):
            raise KafkaSetupError("SASL users and passwords must be given, without quotes or backslashes")


SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"


def cache_dir() -> Path:
    return Path(os.environ.get("CASEWATCH_CACHE_DIR", Path.home() / ".cache" / "casewatch"))


def fetch(version: str = KAFKA_VERSION, *, quiet: bool = False) -> Path:
    """The folder of Kafka's jars, fetched with Maven on first use."""
    libs = cache_dir() / f"kafka-{version}" / "libs"
    if (libs / ".complete").exists():
        return libs
    if shutil.which("mvn") is None:
        raise KafkaSetupError("Maven (mvn) is needed to fetch Kafka's jars: install it, or set KAFKA_BOOTSTRAP_SERVERS")
    if not quiet:
        print(f"Fetching Apache Kafka {version} jars from Maven Central into {libs} (first run only)...", flush=True)
    libs.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=libs.parent) as work:
        (Path(work) / "pom.xml").write_text(POM.format(scala=SCALA_VERSION, kafka=version, slf4j=SLF4J_VERSION))
        staged = Path(work) / "libs"
        done = subprocess.run(
            ["mvn", "-B", "-q", "dependency:copy-dependencies", f"-DoutputDirectory={staged}"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise KafkaSetupError(f"mvn could not fetch Kafka {version}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        (staged / ".complete").write_text(version)
        if libs.exists():
            shutil.rmtree(libs)
        staged.rename(libs)
    return libs


def stop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so `with LocalKafka()` stops the broker it started
    instead of leaving a Java process behind."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalKafka:
    """One KRaft broker on 127.0.0.1. Use as a context manager, or start() and stop()."""

    def __init__(
        self,
        *,
        port: int = 0,
        data_dir: Path | None = None,
        version: str = KAFKA_VERSION,
        heap: str = "512m",
        sasl_ssl: SaslSslListener | None = None,
    ) -> None:
        self.version = version
        self.port = port or free_port()
        self._owns_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="casewatch-kafka-"))
        self.heap = heap
        self.sasl_ssl = sasl_ssl
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def start(self, timeout: float = 90.0) -> str:
        """Start the broker and wait until it serves; returns host:port."""
        if shutil.which("java") is None:
            raise KafkaSetupError("Java 17+ is needed to run the local Kafka broker")
        libs = fetch(self.version)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self._write_config()
        classpath = f"{libs}/*"
        java = ["java", f"-Xmx{self.heap}", "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}", "-cp", classpath]  # fmt: skip
        store = self.data_dir / "store"
        if not (store / "meta.properties").exists():
            # A leading "-" would be read as an option by the storage tool (1 run in 64 failed).
            cluster_id = "k" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[1:]
            command = [*java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)]
            formatted = subprocess.run([*command, *self._scram_users()], capture_output=True, text=True)
            if formatted.returncode != 0:
                output = (formatted.stdout + formatted.stderr)[-2000:]
                raise KafkaSetupError(f"formatting the KRaft store failed (exit {formatted.returncode}):\n{output}")
        with open(self.data_dir / "stdout.log", "ab") as out:
            self._process = subprocess.Popen([*java, "kafka.Kafka", str(properties)], stdout=out, stderr=out)
        self._wait_ready(timeout)
        return self.bootstrap_servers

    def _write_config(self) -> Path:
        controller = free_port()
        (self.data_dir / "log4j.properties").write_text(LOG4J.format(log=self.log_file))
        client = "PLAINTEXT" if self.sasl_ssl is None else "SASL_SSL"
        config = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{controller}",
            "listeners": f"{client}://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"{client}://127.0.0.1:{self.port}",
            "inter.broker.listener.name": client,
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": f"{client}:{client},CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "store"),
            # casewatch creates its topics with their partitions; a typo must not create one.
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            **self._sasl_ssl_config(),
        }
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        return path

    def _sasl_ssl_config(self) -> dict[str, str]:
        listener = self.sasl_ssl
        if listener is None:
            return {}
        # The broker signs in to itself (inter-broker traffic) with PLAIN, as a user of its own.
        broker_password = uuid.uuid4().hex
        users = {"casewatch-broker": broker_password, **listener.users}
        plain = " ".join(f'user_{name}="{password}"' for name, password in users.items())
        prefix = "listener.name.sasl_ssl"
        return {
            "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            f"{prefix}.plain.sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="casewatch-broker" password="{broker_password}" {plain};',
            # SCRAM credentials live in the cluster metadata, written when the store is formatted.
            **{f"{prefix}.{m.lower()}.sasl.jaas.config": f"{SCRAM_LOGIN} required;" for m in SASL_MECHANISMS[1:]},
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(listener.keystore),
            "ssl.keystore.password": listener.store_password,
            "ssl.key.password": listener.store_password,
            "ssl.truststore.type": "PKCS12",
            "ssl.truststore.location": str(listener.truststore),
            "ssl.truststore.password": listener.store_password,
            # Prefixed: the broker-wide ssl.client.auth applies to SSL listeners only, not SASL_SSL ones.
            f"{prefix}.ssl.client.auth": "required" if listener.client_certificates else "none",
        }

    def _scram_users(self) -> list[str]:
        """The storage tool's arguments that give each user SCRAM credentials (KRaft keeps them in its metadata)."""
        if self.sasl_ssl is None:
            return []
        return [
            argument
            for name, password in self.sasl_ssl.users.items()
            for mechanism in SASL_MECHANISMS[1:]
            for argument in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise KafkaSetupError(
                    f"the Kafka broker exited with code {self._process.returncode}; see {self.log_file}"
                )
            if self.log_file.exists() and READY_LINE in self.log_file.read_text(errors="replace"):
                with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                    return
            time.sleep(0.2)
        self.stop()
        raise KafkaSetupError(f"the Kafka broker did not start within {timeout:.0f}s; see {self.log_file}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL) and remove its folder if it made one."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "LocalKafka":
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
