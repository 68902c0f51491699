"""`casewatch demo`, the README's main job, end to end (on the session's broker, to save a start)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from casewatch.local_kafka import free_port
from tests.integration.support import Deployment, wait_until


def test_demo_raises_alerts_live_that_match_replay_and_stores_them(deployment: Deployment) -> None:
    result = deployment.run_cli("demo", "--children", "80", "--seed", "3", "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALERT" in result.stdout and "rereferral_after_agreement" in result.stdout
    assert "alerts the replay expects were raised live and stored" in result.stdout
    page = re.search(
        r"The managers' page: (http://127\.0\.0\.1:\d+/ui/) \(sign in with the token ([0-9a-f]{32})", result.stdout
    )
    assert page, result.stdout[:2000]

    listed = deployment.run_cli("alerts", "--format", "json", "--limit", "1000")
    assert listed.returncode == 0, listed.stderr
    stored = json.loads(listed.stdout)
    assert stored and "rereferral_after_agreement" in {a["rule"] for a in stored}
    printed = sum(1 for line in result.stdout.splitlines() if line.startswith("ALERT"))
    assert printed == len(stored)


def test_a_demo_stopped_with_sigterm_stops_the_broker_it_started(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env |= {"CASEWATCH_STATE_DIR": str(tmp_path), "CASEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
            "CASEWATCH_METRICS_PORT": str(free_port())}  # fmt: skip
    demo = subprocess.Popen(
        [sys.executable, "-m", "casewatch", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        port = None
        for line in demo.stdout:  # bounded: the demo exits on its own when anything fails
            found = re.search(r"Kafka \S+ is up at 127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "the demo never reported its broker"
        demo.send_signal(signal.SIGTERM)
        demo.wait(60)
    finally:
        demo.kill()
    wait_until(lambda: not _listening(port), 30, lambda: f"the broker on port {port} is still up")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
