"""The routing section: validation that names the bad key, the default, matchers and the route tree."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from casewatch.delivery.channels import build_channels
from casewatch.delivery.config import DEFAULT_ROUTING, RoutingConfigError, load_routing, parse_routing
from casewatch.delivery.matchers import parse_matcher
from casewatch.delivery.routing import build_tree, destinations, find_route, flush_time
from casewatch.settings import SettingsError, environment_value
from tests.test_delivery.support import T0

RECEIVERS = [{"name": n, "console": {}} for n in ("default", "east", "high", "heads")]


def test_without_a_file_or_a_routing_section_the_documented_default_applies(tmp_path: Path) -> None:
    assert load_routing(None) == DEFAULT_ROUTING
    rules_only = tmp_path / "casewatch.yaml"
    rules_only.write_text("rules:\n  window_months: 12\n")  # another part of casewatch reads this section
    assert load_routing(rules_only) == DEFAULT_ROUTING
    assert [(r.name, r.kind) for r in DEFAULT_ROUTING.receivers] == [("console", "console")]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"route": {"receiver": "default", "routes": [{"recever": "east"}]}},
         "routing.route.routes[0].recever: unknown key"),
        ({"route": {"receiver": "default", "group_wait": "soon"}},
         "routing.route.group_wait: must be a duration such as 30s, 5m, 4h or 1d"),
        ({"route": {"receiver": "default", "routes": [{"receiver": "nobody"}]}},
         "route.routes[0].receiver: no receiver is named 'nobody'"),
        ({"route": {"receiver": "default", "matchers": ["team=x"]}}, "the root route takes every alert"),
        ({"route": {"receiver": "default", "routes": [{"matchers": ["team"]}]}},
         "routing.route.routes[0].matchers[0]: a matcher is written name=value"),
        ({"route": {"receiver": "default", "escalate_after": "1h"}}, "escalate_after and escalate_to go together"),
        ({"route": {"receiver": "default"}, "delivery": {"max_attempts": 0}},
         "routing.delivery.max_attempts: Input should be greater than or equal to 1"),
        ({"route": {"receiver": "default"}, "delivery": {"lease": "15s"},
          "receivers": [*RECEIVERS,
                        {"name": "hook", "webhook": {"url": "https://h", "secret_env": "K", "timeout": "10s"}}]},
         "receivers[4].webhook.timeout must be under half of delivery.lease"),
    ],
)  # fmt: skip
def test_a_bad_section_fails_with_a_message_naming_the_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutingConfigError) as error:
        parse_routing({"receivers": RECEIVERS} | section)
    assert message in str(error.value)
    assert isinstance(error.value, SettingsError)  # the CLI prints it as a setting error and exits 2


def test_receivers_are_checked_and_secrets_are_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(RoutingConfigError, match=r"receivers\[0\]: .*exactly one of console, webhook"):
        parse_routing(
            {
                "route": {"receiver": "x"},
                "receivers": [{"name": "x", "console": {}, "webhook": {"url": "https://h", "secret_env": "K"}}],
            }
        )
    with pytest.raises(RoutingConfigError) as error:
        email = {"host": "h", "password": "hunter2", "from": "a@b.c", "to": ["d@e.f"]}
        parse_routing({"route": {"receiver": "x"}, "receivers": [{"name": "x", "email": email}]})
    assert "receivers[0].email.password: unknown key" in str(error.value) and "hunter2" not in str(error.value)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("routing: [unclosed")
    with pytest.raises(RoutingConfigError, match="is not valid YAML"):
        load_routing(bad_yaml)


def test_a_receiver_secret_named_by_the_file_must_be_set_when_the_dispatcher_starts() -> None:
    config = parse_routing(
        {"route": {"receiver": "t"}, "receivers": [{"name": "t", "teams": {"url_env": "CASEWATCH_TEST_TEAMS_URL"}}]}
    )
    with pytest.raises(SettingsError, match="CASEWATCH_TEST_TEAMS_URL is not set"):
        build_channels(config, lambda name: environment_value(name, {}))
    channels = build_channels(config, lambda name: environment_value(name, {name: "https://teams.example/hook"}))
    assert channels["t"].kind == "teams"


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('team="CIN East"', {"team": "CIN East"}, True),
        ("team=CIN East", {"team": "CIN West"}, False),
        ("severity=~high|medium", {"severity": "medium"}, True),
        ("severity=~high|medium", {"severity": "mediumish"}, False),  # anchored, as in Alertmanager
        ("severity!~low", {"severity": "high"}, True),
        ("agreement_id!=", {}, False),  # a missing label is the empty string
        ("agreement_id=", {}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_matcher(text).matches(labels) is matches


TREE = build_tree(
    parse_routing(
        {
            "route": {
                "receiver": "default", "group_by": ["team"], "group_wait": "10s",
                "routes": [
                    {"matchers": ["severity=high"], "receiver": "high", "continue": True, "group_by": ["child_id"]},
                    {"matchers": ["team=~CIN.*"], "receiver": "east",
                     "routes": [{"matchers": ["rule=agreement_review_overdue"], "receiver": "heads"}]},
                ],
            },
            "receivers": RECEIVERS,
        }
    )
)  # fmt: skip


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"team": "Front Door", "severity": "low"}, ["default"]),
        ({"team": "Front Door", "severity": "high"}, ["high"]),  # continue, but nothing else matches: not the root
        ({"team": "CIN East", "severity": "high"}, ["high", "east"]),
        ({"team": "CIN East", "severity": "low", "rule": "agreement_review_overdue"}, ["heads"]),
    ],
)
def test_the_route_tree_sends_an_alert_where_alertmanager_would(labels: dict[str, str], receivers: list[str]) -> None:
    assert [d.receiver for d in destinations(TREE, labels, new=True)] == receivers


def test_children_inherit_unset_settings_and_groups_are_keyed_by_route_and_labels() -> None:
    child = find_route(TREE, "0.1.0")
    assert child is not None
    assert (child.receiver, child.group_by, child.timing.group_wait) == ("heads", ("team",), timedelta(seconds=10))
    east = {"team": "CIN East", "severity": "high", "child_id": "C1"}
    high, cin = destinations(TREE, east, new=True)
    assert high.group_labels == {"child_id": "C1"} and cin.group_labels == {"team": "CIN East"}
    assert high.group_key != cin.group_key
    same_team = destinations(TREE, east | {"child_id": "C2"}, new=True)[1]
    assert same_team.group_key == cin.group_key


def test_flush_time_waits_group_wait_first_then_group_interval() -> None:
    timing = TREE.timing
    assert flush_time(T0, None, timing) == T0 + timedelta(seconds=10)
    assert flush_time(T0, T0 - timedelta(minutes=1), timing) == T0 + timedelta(minutes=4)  # 5 min group_interval
    assert flush_time(T0, T0 - timedelta(hours=1), timing) == T0
