"""The rules: each a pure function of a child's state (and, for timers, `now`).

No Faust, no I/O, no wall clock: the live agents and the offline replay call the same
functions, so they raise the same alerts. Each rule lives in its own module, with its
parameters, the finding it serves and the words its alerts carry; `config.ALL_RULES`
lists them, once.
"""

from agents.rules.base import Deadline, EventRule, Finding, Rule, RuleParams, TeamRule, TimeRule
from agents.rules.config import ALL_RULES, RulesConfig, RulesConfigError, parse_rules_config
from agents.rules.team_rereferral_rate_high import RULE as TEAM_RULE

__all__ = [
    "ALL_RULES",
    "TEAM_RULE",
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
