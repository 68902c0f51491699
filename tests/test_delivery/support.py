"""Real receivers on 127.0.0.1 for delivery tests, a controlled clock, and a recording channel."""

import json
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from prometheus_client import CollectorRegistry

from casewatch.delivery.channels.base import Batch, SendResult
from casewatch.delivery.config import RoutingConfig, parse_routing
from casewatch.delivery.dispatcher import Dispatcher
from casewatch.delivery.metrics import DeliveryMetrics
from casewatch.delivery.outbox import enqueuer
from casewatch.local_kafka import free_port
from casewatch.storage import connect, upsert_alerts
from schemas.alerts import Alert

T0 = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


class RecordingChannel:
    """An in-memory stand-in for a channel: records batches, answers from a script, then succeeds."""

    kind = "console"

    def __init__(self, *results: SendResult) -> None:
        self.batches: list[Batch] = []
        self._results = list(results)

    def send(self, batch: Batch) -> SendResult:
        self.batches.append(batch)
        return self._results.pop(0) if self._results else SendResult.sent()

    def alert_sets(self) -> list[set[str]]:
        return [{a.alert_id for a in b.alerts} for b in self.batches]


@dataclass
class Harness:
    """A real database, a routing configuration, a controlled clock and recording channels."""

    database_url: str
    config: RoutingConfig
    clock: Clock = field(default_factory=Clock)
    channels: dict[str, RecordingChannel] = field(default_factory=dict)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.engine = connect(self.database_url)
        for receiver in self.config.receivers:
            self.channels.setdefault(receiver.name, RecordingChannel())
        self.metrics = DeliveryMetrics.create(self.registry)
        self.dispatcher = self.new_dispatcher()
        self._hook = enqueuer(self.config)

    def new_dispatcher(self) -> Dispatcher:
        return Dispatcher(
            engine=self.engine, config=self.config, channels=self.channels, metrics=self.metrics, clock=self.clock
        )

    def store(self, *alerts: Alert, at: float) -> None:
        """What the worker's persist agent does, at a chosen time."""
        upsert_alerts(engine=self.engine, alerts=list(alerts), on_stored=self._hook, now=self.clock.at(at))

    def turn(self, at: float) -> int:
        self.clock.at(at)
        return self.dispatcher.run_once()

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def routing(section: dict[str, Any]) -> RoutingConfig:
    return parse_routing(section)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """A real HTTP server on 127.0.0.1 that records every POST.

    `answers` are (status, headers) pairs given to the first requests in turn; after them
    it answers `ok_status`. `hold_request` (1-based) blocks that request until `release()`,
    answering 503 then, so a test can kill the sender while the request is in flight.
    `delay` slows every answer, as a loaded receiver would.
    """

    def __init__(
        self, answers: list[tuple[int, dict[str, str]]] | None = None, *, ok_status: int = 200,
        hold_request: int | None = None, delay: float = 0.0,
    ) -> None:  # fmt: skip
        self.received: list[Received] = []
        self._answers = list(answers or [])
        self._ok = ok_status
        self._hold_request = hold_request
        self._delay = delay
        self.holding = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    number = len(receiver.received) + 1
                    held = number == receiver._hold_request
                    status, headers = receiver._answers.pop(0) if receiver._answers else (receiver._ok, {})
                    if held:
                        status, headers = 503, {}
                    receiver.received.append(Received(self.path, dict(self.headers), body, time.monotonic(), status))
                if held:
                    receiver.holding.set()
                    receiver._release.wait(30)
                time.sleep(receiver._delay)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone (killed while we held its request)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def release(self) -> None:
        self._release.set()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def __enter__(self) -> "HttpReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Mailbox:
    messages: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command, and its key."""
    cert, key = folder / "smtp.crt", folder / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def smtp_server(folder: Path, *, user: str, password: str) -> Iterator[tuple[Mailbox, int, Path]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 requiring STARTTLS, then login."""
    cert, key = self_signed_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()

    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
        if ok:
            mailbox.logins.append(user)
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_required=True, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    try:
        yield mailbox, port, cert
    finally:
        controller.stop()


class DispatcherProcess:
    """`casewatch dispatch` as its own process, as production runs it."""

    def __init__(self, env: dict[str, str], log: Path, metrics_port: int = 0) -> None:
        self.env, self.log, self.metrics_port = env, log, metrics_port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "DispatcherProcess":
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "casewatch", "dispatch", "--metrics-port", str(self.metrics_port),
                 "--loglevel", "info"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def describe(self) -> str:
        return f"dispatcher log {self.log}:\n" + self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no clean-up, no chance to record what it was sending."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def write_config(folder: Path, routing_section: dict[str, Any]) -> Path:
    path = folder / "casewatch.yaml"
    path.write_text(yaml.safe_dump({"routing": routing_section}))
    return path
