"""The rules configuration: defaults, the example file, and errors that name the key."""

from pathlib import Path

import pytest
import yaml

from agents.rules import RulesConfig, RulesConfigError, parse_rules_config
from agents.rules.config import ALL_RULES

EXAMPLE = Path(__file__).parents[2] / "casewatch" / "examples" / "casewatch.example.yaml"


def test_the_example_file_is_the_documented_default() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    assert parse_rules_config(data["rules"]) == RulesConfig()
    assert data["rules"] == RulesConfig().to_mapping()


def test_every_rule_has_an_id_a_default_severity_a_finding_and_words_for_the_manager() -> None:
    assert len({rule.id for rule in ALL_RULES}) == len(ALL_RULES) == 9
    for rule in ALL_RULES:
        assert rule.defaults().severity in ("low", "medium", "high")
        assert rule.finding and rule.explanation and rule.action
        module = __import__(f"agents.rules.{rule.id}", fromlist=["RULE"])
        assert "Finding served" in (module.__doc__ or ""), rule.id


def test_an_empty_section_or_file_gives_the_defaults() -> None:
    assert parse_rules_config(None) == RulesConfig()
    assert parse_rules_config({}) == RulesConfig()


def test_values_are_taken_and_the_rest_keep_their_defaults() -> None:
    config = parse_rules_config(
        {
            "link_template": "https://lcs.example/child/{child_id}",
            "agreement_review_overdue": {"grace_days": 14, "severity": "high"},
            "sexual_abuse_indicator_not_recorded": {"concern_codes": ["19C", 20]},
            "child_views_not_recorded": False,
        }
    )
    assert config.link("C1") == "https://lcs.example/child/C1"
    assert config.params["agreement_review_overdue"] == RulesConfig().params["agreement_review_overdue"].__class__(
        grace_days=14, severity="high"
    )
    assert config.params["sexual_abuse_indicator_not_recorded"].concern_codes == frozenset({"19C", "20"})  # type: ignore[attr-defined]
    assert "child_views_not_recorded" not in config.enabled
    assert config.params["plan_not_smart"] == RulesConfig().params["plan_not_smart"]


def test_the_file_overrides_a_base_from_the_environment() -> None:
    base = RulesConfig().with_params("rereferral_after_agreement", window_months=6)
    assert (
        parse_rules_config({"horizon_months": 30}, base=base).params["rereferral_after_agreement"]
        == (base.params["rereferral_after_agreement"])
    )


@pytest.mark.parametrize(
    ("data", "key", "reason"),
    [
        (["grace_days"], "rules", "must be a mapping of settings, not a list"),
        ({"grace_days": 3}, "rules.grace_days", "unknown setting (known: horizon_months"),
        ({"agreement_review_overdue": {"grace_dayz": 3}}, "rules.agreement_review_overdue.grace_dayz",
         "unknown setting (known: enabled, severity, delivery, grace_days, at_closure)"),
        ({"agreement_review_overdue": {"grace_days": "seven"}}, "rules.agreement_review_overdue.grace_days",
         "must be a whole number, not 'seven'"),
        ({"agreement_review_overdue": {"grace_days": -1}}, "rules.agreement_review_overdue.grace_days",
         "must be at least 0, not -1"),
        ({"agreement_review_overdue": {"grace_days": 2.5}}, "rules.agreement_review_overdue.grace_days",
         "must be a whole number, not 2.5"),
        ({"agreement_review_overdue": {"enabled": "yes please"}}, "rules.agreement_review_overdue.enabled",
         "must be true or false"),
        ({"agreement_review_overdue": {"severity": "urgent"}}, "rules.agreement_review_overdue.severity",
         "must be one of low, medium, high, not 'urgent'"),
        ({"agreement_review_overdue": 7}, "rules.agreement_review_overdue", "must be a mapping of the rule's settings"),
        ({"team_rereferral_rate_high": {"threshold": 22.6}}, "rules.team_rereferral_rate_high.threshold",
         "must be at most 1.0, not 22.6"),
        ({"agreement_disproportionate_to_risk": {"high_risk_factors": ["19C", "99Z"]}},
         "rules.agreement_disproportionate_to_risk.high_risk_factors", "unknown codes 99Z"),
        ({"agreement_disproportionate_to_risk": {"high_risk_factors": {"a": 1}}},
         "rules.agreement_disproportionate_to_risk.high_risk_factors", "must be a list of codes, not a dict"),
        ({"agreement_breach_without_followup": {"followups": ["phone_call"]}},
         "rules.agreement_breach_without_followup.followups", "unknown codes phone_call"),
        ({"link_template": "https://lcs.example/child/{id}"}, "rules.link_template", "may only contain"),
        ({"link_template": "https://lcs.example/child/"}, "rules.link_template", "must contain {child_id}"),
        ({"link_template": 7}, "rules.link_template", "must be text, not an int"),
        ({"repeated_agreements": {"window_months": 36}}, "rules.horizon_months",
         "must be at least 36, the look-back of rules.repeated_agreements.window_months, not 24"),
    ],
)  # fmt: skip
def test_a_bad_value_names_the_key_and_the_reason(data: object, key: str, reason: str) -> None:
    with pytest.raises(RulesConfigError) as raised:
        parse_rules_config(data)
    assert raised.value.key == key
    assert reason in raised.value.reason
    assert str(raised.value).startswith(f"{key}: ")


def test_a_long_window_with_a_long_enough_horizon_is_fine() -> None:
    config = parse_rules_config({"horizon_months": 36, "repeated_agreements": {"window_months": 36}})
    assert config.params["repeated_agreements"].window_months == 36  # type: ignore[attr-defined]


def test_docs_describe_every_rule_and_every_parameter_with_its_default() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()
    for name, value in RulesConfig().to_mapping().items():
        if isinstance(value, dict):
            assert f"## {name}" in docs, name
            section = docs.split(f"## {name}")[1].split("\n## ")[0]
            assert f'"rule": "{name}"' in section, f"{name}: no example alert"
            for parameter, default in value.items():
                if parameter in ("enabled", "severity", "delivery"):
                    continue
                shown = ", ".join(default) if isinstance(default, list) else str(default).lower()
                assert f"| `{parameter}` | {shown} |" in section, f"{name}.{parameter}"
        else:
            assert f"`{name}`" in docs, name
