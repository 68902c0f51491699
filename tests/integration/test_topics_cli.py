"""`casewatch topics` brings existing topics' settings in line (issue 14, finding 4), on the real broker."""

import json
import subprocess
import sys

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource

from streams.topics import DAY_MS
from tests.integration.support import Deployment, wait_until


def _settings(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        keys = ["retention.ms", "cleanup.policy"]
        described = admin.describe_configs([ConfigResource("TOPIC", n, keys) for n in names], config_filter="all")
        return {n: {k: described["topic"][n][k]["value"] for k in keys} for n in names}
    finally:
        admin.close()


def test_topics_made_with_other_settings_are_aligned_and_the_changes_are_printed(deployment: Deployment) -> None:
    settings = deployment.settings
    bootstrap, topics = str(settings.bootstrap_servers), settings.topics
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:  # as an older casewatch, or another tool, might have left them
        admin.alter_configs([ConfigResource("TOPIC", topics.dead_letter, {"retention.ms": "-1"}),
                             ConfigResource("TOPIC", topics.inputs[0], {"cleanup.policy": "compact"})])  # fmt: skip
    finally:
        admin.close()
    # The broker applies an alter a moment after answering it.
    wait_until(lambda: _settings(bootstrap, [topics.dead_letter])[topics.dead_letter]["retention.ms"] == "-1", 30)
    wait_until(lambda: _settings(bootstrap, [topics.inputs[0]])[topics.inputs[0]]["cleanup.policy"] == "compact", 30)

    first = subprocess.run([sys.executable, "-m", "casewatch", "topics"], env=deployment.env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert f"changed {topics.dead_letter} retention.ms: -1 -> {14 * DAY_MS}" in first.stdout
    assert f"changed {topics.inputs[0]} cleanup.policy: compact -> delete" in first.stdout
    assert sum(line.startswith("changed ") for line in first.stdout.splitlines()) == 2
    declared = {s.name: s.config for s in topics.specs()}
    wait_until(
        lambda: _settings(bootstrap, list(declared)) == declared, 30, lambda: str(_settings(bootstrap, list(declared)))
    )

    second = subprocess.run([sys.executable, "-m", "casewatch", "topics", "--format", "json"], env=deployment.env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert second.returncode == 0, second.stderr
    listed = json.loads(second.stdout)
    assert listed["changes"] == []
    assert {t["name"]: t["state"] for t in listed["topics"]} == dict.fromkeys(declared, "exists")
