"""The rules: each a pure function of a child's state (and, for timers, `now`).

No Faust, no I/O, no wall clock: the live agents and the offline replay call the same
functions, so they raise the same alerts.
"""

from agents.rules.base import Rule, RulesConfig
from agents.rules.rereferral_after_agreement import REREFERRAL_AFTER_AGREEMENT

RULES: tuple[Rule, ...] = (REREFERRAL_AFTER_AGREEMENT,)

__all__ = ["RULES", "Rule", "RulesConfig"]
