"""`casewatch serve` as production starts it, and a small client for its API (stdlib only)."""

import http.client
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from casewatch.local_kafka import free_port
from tests.integration.support import Deployment, wait_until

TOKEN = "test-token-0123456789abcdef-0123456789"  # the one token the servers started here accept


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Api:
    """A running server's address, and requests to it with the test token unless told otherwise."""

    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = TOKEN,
    ) -> Answer:
        """One request on its own connection; an iterable body is sent chunked, declaring no length."""
        sent = dict(headers or {})
        if token is not None:
            sent.setdefault("Authorization", f"Bearer {token}")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            chunked = body is not None and not isinstance(body, bytes)
            connection.request(method, path, body=body, headers=sent, encode_chunked=chunked)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def post_events(self, body: bytes, content_type: str = "application/json", **options: Any) -> Answer:
        headers = {"Content-Type": content_type, **options.pop("headers", {})}
        return self.request("POST", "/v1/events", body, headers=headers, **options)

    def metric(self, name: str, **labels: str) -> float:
        """The value of the sample `name` with exactly `labels` (metrics need the token too)."""
        answer = self.request("GET", "/metrics")
        assert answer.status == 200, answer
        values = [
            sample.value
            for family in text_string_to_metric_families(answer.body.decode())
            for sample in family.samples
            if sample.name == name and sample.labels == labels
        ]
        return values[0] if values else 0.0


@contextmanager
def running_server(
    deployment: Deployment, *, env: Mapping[str, str] | None = None, log_name: str = "serve.log"
) -> Iterator[Api]:
    """`casewatch serve` for `deployment` on a free port of 127.0.0.1, until the block ends."""
    api = Api("127.0.0.1", free_port())
    log = deployment.folder / log_name
    settings = {
        "CASEWATCH_API_TOKENS": TOKEN,
        "CASEWATCH_HTTP_HOST": api.host,
        "CASEWATCH_HTTP_PORT": str(api.port),
        **(env or {}),
    }
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "casewatch", "serve"],
            env={**deployment.env, **settings},
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def describe() -> str:
        return f"server log {log}:\n" + log.read_text(errors="replace")[-4000:]

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"`casewatch serve` exited with {process.returncode}\n{describe()}")
        return api.request("GET", "/healthz", token=None).status == 200

    try:
        wait_until(ready, 60, describe)
        yield api
    finally:
        process.terminate()  # SIGTERM: the server finishes in-flight batches and stops its producer
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
