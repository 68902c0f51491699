"""The engine runs an event-driven rule only on the event types it declares (`triggers`):
that must give the alerts and states running every rule on every event would give.

A trigger missing from a rule's declaration, where no later event makes up for it, loses
an alert here and the test fails (tried: `referral` taken out of rereferral_after_agreement's).
"""

from functools import cached_property
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.replay import ReplayResult, replay
from agents.rules import ALL_RULES, EventRule, RuleParams, RulesConfig
from schemas.events import EVENT_TYPE_NAMES
from streams.simulate import SimulationSpec, simulate


class EveryRuleOnEveryEvent(RulesConfig):
    """The defaults, but every enabled event-driven rule runs after every event type."""

    @cached_property
    def event_rules(self) -> dict[str, tuple[tuple[EventRule[Any], RuleParams], ...]]:
        every = tuple(
            (r, self.params[r.id]) for r in ALL_RULES if isinstance(r, EventRule) and self.params[r.id].enabled
        )
        return dict.fromkeys(EVENT_TYPE_NAMES, every)


def outcome(result: ReplayResult) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    alerts = {k: a.model_dump() for k, a in result.alerts.items()}
    states = {k: s.to_dict() for k, s in result.states.items()}
    teams = {k: t.to_dict() for k, t in result.teams.items()}
    return alerts, states, teams


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=10_000), children=st.integers(min_value=30, max_value=80))
def test_running_only_the_triggered_rules_gives_the_alerts_and_states_of_running_every_rule(
    seed: int, children: int
) -> None:
    events = simulate(SimulationSpec(children=children, seed=seed))
    triggered = replay(events, RulesConfig())
    every = replay(events, EveryRuleOnEveryEvent())
    assert outcome(triggered) == outcome(every)
    assert triggered.alerts  # the simulated histories do raise alerts, so the comparison is not empty
