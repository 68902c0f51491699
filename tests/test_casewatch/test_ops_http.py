"""casewatch.ops_http: /metrics, /healthz and /readyz on one port, /readyz saying why not."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from casewatch.ops_http import serve_ops


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.fixture
def served() -> Iterator[tuple[str, list[str | None]]]:
    registry = CollectorRegistry()
    Counter("casewatch_probe_total", "A counter to find in /metrics.", registry=registry).inc(3)
    reasons: list[str | None] = ["recovering its tables"]
    server = serve_ops(0, "127.0.0.1", registry, lambda: reasons[-1])
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", reasons
    finally:
        server.shutdown()
        server.server_close()


def test_healthz_is_alive_while_readyz_is_503_with_the_reason_then_200(served: tuple[str, list[str | None]]) -> None:
    url, reasons = served
    assert get(f"{url}/healthz")[0] == 200
    status, content_type, body = get(f"{url}/readyz")
    assert (status, content_type) == (503, "application/json")
    assert json.loads(body) == {"status": "unready", "reason": "recovering its tables"}
    reasons.append(None)
    status, _, body = get(f"{url}/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})


def test_metrics_are_on_the_same_port_and_other_paths_are_404(served: tuple[str, list[str | None]]) -> None:
    url, _ = served
    status, content_type, body = get(f"{url}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    assert b"casewatch_probe_total 3.0" in body
    assert get(f"{url}/admin")[0] == 404
