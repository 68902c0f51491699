"""deploy/prometheus: the configuration passes `promtool check config` (its rule files too)
and the alerting rules pass their unit tests (`promtool test rules`)."""

import subprocess

import yaml

from tests.prometheus_tools import PROMETHEUS_DIR, binary, rule_expressions, selectors


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, timeout=120)


def test_the_prometheus_configuration_and_its_rule_files_are_valid() -> None:
    checked = promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout


def test_every_alerting_rule_passes_its_promtool_unit_tests() -> None:
    tested = promtool("test", "rules", str(PROMETHEUS_DIR / "alerts_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alerting_rule_has_a_unit_test_that_fires_it() -> None:
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    untested = sorted(set(rule_expressions()) - fired)
    assert not untested, f"no alert_rule_test expects these to fire: {untested}"


def test_every_rule_reads_casewatch_metrics() -> None:
    """The selector pattern the live test relies on finds what each rule reads."""
    for name, expression in rule_expressions().items():
        assert selectors(expression), f"{name}: no metric found in {expression}"
