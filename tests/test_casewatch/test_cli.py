"""The CLI as a user meets it: help, clear errors, and the offline commands."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["demo", "worker", "ingest", "alerts", "simulate", "broker", "topics"]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWATCH_", "KAFKA_"))}
    return subprocess.run(
        [sys.executable, "-m", "casewatch", *args],
        env=environment | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(command: str | None) -> None:
    result = cli(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stdout
    if command is None:
        assert all(c in result.stdout for c in COMMANDS)


def test_a_bad_setting_is_one_clear_line() -> None:
    result = cli("alerts", env={"CASEWATCH_PARTITIONS": "many"})
    assert result.returncode == 2
    assert result.stderr.strip() == "casewatch: setting error: CASEWATCH_PARTITIONS must be a whole number, not 'many'"


def test_publishing_without_kafka_says_what_to_set(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("")
    result = cli("ingest", str(events))
    assert result.returncode == 2
    assert "KAFKA_BOOTSTRAP_SERVERS is not set" in result.stderr


def test_simulate_then_dry_run_ingest_reports_each_bad_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    assert cli("simulate", "--children", "20", "--seed", "5", "-o", str(events)).returncode == 0
    lines = events.read_text().splitlines()
    events.write_text("\n".join([*lines, "{oops", json.dumps({"event_type": "referral", "name": "X"})]) + "\n")
    result = cli("ingest", "--dry-run", str(events))
    assert result.returncode == 3, result.stderr  # input rejected
    assert f"accepted {len(lines)} events, rejected 2" in result.stdout
    assert f"events.jsonl:{len(lines) + 1}: rejected (invalid_json)" in result.stderr
    assert f"events.jsonl:{len(lines) + 2}: rejected (schema)" in result.stderr


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = cli("ingest", "--dry-run", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_alerts_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert cli("migrate", env={"CASEWATCH_DATABASE_URL": url}).returncode == 0
    result = cli("alerts", env={"CASEWATCH_DATABASE_URL": url})
    assert result.returncode == 0
    assert "No alerts stored" in result.stdout


def test_alerts_lists_team_alerts_which_have_no_child(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from casewatch.storage import connect, upsert_alerts
    from schemas.alerts import Alert

    url = f"sqlite:///{tmp_path / 'a.db'}"
    team_alert = Alert(
        alert_id="0" * 32, rule="team_rereferral_rate_high", severity="medium", child_id=None, team="CIN East",
        occurred_at=datetime(2024, 5, 1, tzinfo=UTC), event_ids=[], facts={}, explanation="e", action="a",
    )  # fmt: skip
    upsert_alerts(engine=connect(url), alerts=[team_alert])
    result = cli("alerts", env={"CASEWATCH_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "(whole team)" in result.stdout and "team_rereferral_rate_high" in result.stdout
