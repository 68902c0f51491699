"""Finding 8 of issue 14, the process half: what `casewatch` prints, listens on and accepts.

Through the real CLI: the database password is never printed, metrics listen on
127.0.0.1 unless told otherwise, `serve` refuses short tokens and ends a body that does
not arrive in time (a real server on 127.0.0.1; Kafka is never reached in these tests).
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import make_url

from casewatch.local_kafka import free_port
from tests.integration.support import terminate

TOKEN = "a-long-enough-token-0123456789abcdef"


def casewatch(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casewatch", *args], env=dict(os.environ, **env), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_casewatch_alerts_never_prints_the_database_password(database_url: str) -> None:
    password = make_url(database_url).password
    if password is None:
        pytest.skip("this database URL has no password to hide (SQLite)")
    refused = casewatch("alerts", CASEWATCH_DATABASE_URL=database_url)  # not migrated yet: an error naming the URL
    assert refused.returncode == 1 and "tables in the database at postgresql+psycopg://" in refused.stderr
    assert f":{password}@" not in refused.stdout + refused.stderr and ":***@" in refused.stderr
    assert casewatch("migrate", CASEWATCH_DATABASE_URL=database_url).returncode == 0
    listed = casewatch("alerts", CASEWATCH_DATABASE_URL=database_url)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("No alerts stored in postgresql+psycopg://")
    assert f":{password}@" not in listed.stdout + listed.stderr and ":***@" in listed.stdout


@contextmanager
def started(*args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-m", "casewatch", *args], env=dict(os.environ, **env),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield process
    finally:
        terminate(process)


def _listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at `port`, from /proc/net/tcp (state 0A)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_the_dispatcher_metrics_listen_on_loopback_by_default_and_elsewhere_only_when_told(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'x.db'}"
    for extra, expected in (((), {"127.0.0.1"}), (("--metrics-host", "0.0.0.0"), {"0.0.0.0"})):
        port = free_port()
        with started("dispatch", "--metrics-port", str(port), *extra, CASEWATCH_DATABASE_URL=database) as process:
            deadline = time.monotonic() + 60
            while not _listening_addresses(port) and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.2)
            assert _listening_addresses(port) == expected


def test_serve_refuses_tokens_shorter_than_32_characters() -> None:
    refused = casewatch("serve", CASEWATCH_API_TOKENS=f"{TOKEN},x", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
    assert refused.returncode == 2
    assert "1 of the tokens are shorter than 32 characters" in refused.stderr
    assert ",x" not in refused.stderr and TOKEN not in refused.stderr


def test_serve_ends_a_request_whose_body_does_not_arrive_in_time(tmp_path: Path) -> None:
    port = free_port()
    env = {"CASEWATCH_API_TOKENS": TOKEN, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "CASEWATCH_HTTP_PORT": str(port),
           "CASEWATCH_BODY_TIMEOUT": "2", "CASEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}  # fmt: skip
    with started("serve", **env):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with client:
            head = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                    "Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{")  # fmt: skip
            client.sendall(head.encode())
            client.settimeout(20)
            started_at = time.monotonic()
            answer = client.recv(4096).decode(errors="replace")
            waited = time.monotonic() - started_at
    assert answer.startswith("HTTP/1.1 408"), answer[:200]
    assert "did not arrive within 2 seconds" in answer
    assert 1.5 < waited < 15
