"""docs/deployment.md's walk-through agrees with what it walks through: its first event is valid and
raises the alerts it says, and its tables name every secret the compose file mounts and every
variable .env.example offers."""

import re

import yaml

from agents.replay import replay
from agents.rules import RulesConfig
from schemas import parse_event
from tests.prometheus_tools import ROOT

DOC = (ROOT / "docs" / "deployment.md").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def section(title: str) -> str:
    found = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ )", DOC, re.M | re.S)
    assert found, title
    return found[1]


def test_the_first_event_raises_the_alerts_the_walk_through_shows() -> None:
    lines = [line for line in section("9. Sending a first event").splitlines() if line.startswith("{")]
    events = [parse_event(line) for line in lines]
    alerts = replay(events, RulesConfig()).alerts.values()
    assert sorted((a.rule, a.team, a.child_id) for a in alerts) == [
        ("agreement_review_overdue", "CIN East", "TEST-0001"),
        ("rereferral_after_agreement", "CIN East", "TEST-0001"),
    ]


def test_the_tables_name_every_secret_and_every_env_variable() -> None:
    secrets_table = section("3. Secrets")
    for name in COMPOSE["secrets"]:
        assert f"| `{name}` |" in secrets_table, name
    env_table = section("4. `.env`")
    every = section("Every setting and secret of the compose deployment")
    for name in re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M):
        assert f"| `{name}` |" in env_table and f"`{name}`" in every, name
