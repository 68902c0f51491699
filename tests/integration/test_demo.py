"""`casewatch demo`, the README's main job, end to end (on the session's broker, to save a start)."""

import json

from tests.integration.support import Deployment


def test_demo_raises_alerts_live_that_match_replay_and_stores_them(deployment: Deployment) -> None:
    result = deployment.run_cli("demo", "--children", "80", "--seed", "3", "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALERT" in result.stdout and "rereferral_after_agreement" in result.stdout
    assert "alerts the replay expects were raised live and stored" in result.stdout

    listed = deployment.run_cli("alerts", "--format", "json", "--limit", "1000")
    assert listed.returncode == 0, listed.stderr
    stored = json.loads(listed.stdout)
    assert stored and "rereferral_after_agreement" in {a["rule"] for a in stored}
    printed = sum(1 for line in result.stdout.splitlines() if line.startswith("ALERT"))
    assert printed == len(stored)
