"""`casewatch broker run` stops its Java broker on SIGTERM (issue 14, finding 10, first bug)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casewatch.local_kafka import free_port

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_java_broker_is_gone_after_the_command_gets_a_signal(sig: signal.Signals) -> None:
    command = subprocess.Popen(
        [sys.executable, "-m", "casewatch", "broker", "run", "--port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    java: list[int] = []
    try:
        assert command.stdout is not None
        line = command.stdout.readline()  # the broker start is bounded by LocalKafka's own 90 s
        assert "Apache Kafka" in line and "Ctrl-C stops it" in line, line
        java = [c for c in _children(command.pid) if "java" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(java) == 1
        command.send_signal(sig)
        assert command.wait(60) == 0
        deadline = time.monotonic() + 10
        while _running(java[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(java[0]), "the Java broker outlived `casewatch broker run`"
    finally:
        if command.poll() is None:
            command.kill()
        for pid in java:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
