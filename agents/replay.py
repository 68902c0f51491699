"""The offline driver: the rules over a recorded stream, in event-time order, no Kafka.

The CLI's `replay`, the demo's expectation and the tests use it; it calls the same
`engine.apply` as the live agent, so the two agree on every alert id.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from agents.engine import apply
from agents.rules import RulesConfig
from agents.state import ChildState
from schemas.alerts import Alert
from schemas.events import CaseEvent


@dataclass
class ReplayResult:
    """Alerts by id (the latest version of each), and counts of what was read."""

    events: int = 0
    duplicates: int = 0
    stale: int = 0
    alerts: dict[str, Alert] = field(default_factory=dict)
    states: dict[str, ChildState] = field(default_factory=dict)


def replay(events: Iterable[CaseEvent], config: RulesConfig) -> ReplayResult:
    """Run the rules over `events` sorted by event time (ties by event id)."""
    result = ReplayResult()
    seen: set[str] = set()
    for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        if event.event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event.event_id)
        result.events += 1
        state = result.states.setdefault(event.child_id, ChildState())
        outcome = apply(state, event, config)
        result.stale += outcome.stale
        for alert in outcome.alerts:
            result.alerts[alert.alert_id] = alert
    return result
