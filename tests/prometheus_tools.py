"""Debian's Prometheus binaries for the deploy tests, and the PromQL of the files in deploy/.

Without `promtool` or `prometheus` on the PATH the tests that need them skip, saying so;
under CI=true they fail instead (.ci/run installs Debian's `prometheus` package), so CI
cannot pass without running them.
"""

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "casewatch.json"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not on the PATH under CI=true: .ci/run must install Debian's prometheus package")
    pytest.skip(f"{name} is not on the PATH (Debian's prometheus package provides it)")


def rule_expressions() -> dict[str, str]:
    """Alert name -> expression, from deploy/prometheus/alerts.yml."""
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_expressions() -> dict[str, str]:
    """'panel title [ref]' -> expression, for every target of every panel of the dashboard."""
    found = {}
    for panel in _panels(json.loads(DASHBOARD.read_text())["panels"]):
        for target in panel.get("targets", []):
            found[f"{panel['title']} [{target.get('refId', '')}]"] = target["expr"]
    return found


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Panels, and the panels inside rows."""
    return [p for panel in panels for p in [panel, *_panels(panel.get("panels", []))]]


# A metric name (ours, or `up`) and its label matchers, if any: what an expression reads.
SELECTOR = re.compile(r"\b(casewatch_[a-z_]+|up)\b(\{[^}]*\})?")


def selectors(expression: str) -> set[str]:
    """The series selectors of an expression (`up{job="x"}`, `casewatch_outbox_depth`)."""
    return {name + (matchers or "") for name, matchers in SELECTOR.findall(expression)}
