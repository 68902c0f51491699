"""A bad rules file stops start-up, through the real CLI, with the key and the reason."""

from pathlib import Path

import pytest

from tests.integration.support import Deployment

BAD_FILES = [
    ("rules:\n  agreement_review_overdue:\n    grace_days: -3\n",
     "{path}: rules.agreement_review_overdue.grace_days: must be at least 0, not -3"),
    ("rules:\n  repeated_agreements:\n    cuont: 3\n",
     "{path}: rules.repeated_agreements.cuont: unknown setting "
     "(known: enabled, severity, delivery, count, window_months)"),
    ("rules:\n  team_rereferral_rate_high: {threshold: 22.6}\n",
     "{path}: rules.team_rereferral_rate_high.threshold: must be at most 1.0, not 22.6"),
    ("rules:\n  link_template: https://lcs.example/{name}\n", "{path}: rules.link_template: may only contain"),
    ("rules:\n  grace_days: [\n", "{path} is not valid YAML at line 3, column 1"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_a_bad_rules_file_stops_the_worker_with_the_key_and_the_reason(
    deployment: Deployment, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "casewatch.yaml"
    path.write_text(text)
    done = deployment.with_config(path).run_cli("worker", timeout=60)
    assert done.returncode == 2, done.stderr
    assert "casewatch: setting error: " + message.format(path=path) in done.stderr
    assert "Traceback" not in done.stderr


def test_replay_what_if_validates_the_file_and_the_change_the_same_way(deployment: Deployment, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    assert deployment.run_cli("simulate", "--children", "40", "-o", str(events)).returncode == 0
    path = tmp_path / "casewatch.yaml"
    path.write_text("rules:\n  child_views_not_recorded: {severity: 3}\n")
    bad_file = deployment.with_config(path).run_cli("replay", str(events), "--what-if", "plan_not_smart.enabled=false")
    assert bad_file.returncode == 2
    assert "rules.child_views_not_recorded.severity: must be one of low, medium, high, not 3" in bad_file.stderr

    path.write_text("rules:\n  child_views_not_recorded: {severity: high}\n")
    bad_set = deployment.with_config(path).run_cli("replay", str(events), "--what-if", "plan_not_smart.enabld=false")
    assert bad_set.returncode == 2 and "rules.plan_not_smart.enabld: unknown setting" in bad_set.stderr

    good = deployment.with_config(path).run_cli("replay", str(events), "--what-if", "plan_not_smart.enabled=false")
    assert good.returncode == 0, good.stderr
    line = next(row for row in good.stdout.splitlines() if row.startswith("plan_not_smart "))
    before, after, added, removed, _ = (int(n) for n in line.split()[1:])
    assert before > 0 and after == 0 and added == 0 and removed == before
