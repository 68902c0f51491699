"""The rules: each a pure function of a child's state (and, for timers, `now`).

No Faust, no I/O, no wall clock: the live agents and the offline replay call the same
functions, so they raise the same alerts. Each rule lives in its own module, with its
parameters, the finding it serves and the words its alerts carry.
"""

from agents.rules import (
    agreement_breach_without_followup,
    agreement_disproportionate_to_risk,
    agreement_review_overdue,
    child_views_not_recorded,
    plan_not_smart,
    repeated_agreements,
    rereferral_after_agreement,
    sexual_abuse_indicator_not_recorded,
    team_rereferral_rate_high,
)
from agents.rules.base import Deadline, EventRule, Finding, Rule, RuleParams, TeamRule, TimeRule
from agents.rules.config import RulesConfig, RulesConfigError, parse_rules_config

EVENT_RULES: tuple[EventRule, ...] = (  # type: ignore[type-arg]
    rereferral_after_agreement.RULE,
    agreement_disproportionate_to_risk.RULE,
    repeated_agreements.RULE,
    sexual_abuse_indicator_not_recorded.RULE,
    plan_not_smart.RULE,
    child_views_not_recorded.RULE,
)
TIME_RULES: tuple[TimeRule, ...] = (  # type: ignore[type-arg]
    agreement_review_overdue.RULE,
    agreement_breach_without_followup.RULE,
)
TEAM_RULE = team_rereferral_rate_high.RULE

__all__ = [
    "EVENT_RULES",
    "TEAM_RULE",
    "TIME_RULES",
    "Deadline",
    "EventRule",
    "Finding",
    "Rule",
    "RuleParams",
    "RulesConfig",
    "RulesConfigError",
    "TeamRule",
    "TimeRule",
    "parse_rules_config",
]
