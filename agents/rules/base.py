"""What every rule shares: its identity, its settings, and how an alert gets its id."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from agents.state import ChildState
from schemas.alerts import Alert


@dataclass(frozen=True)
class RulesConfig:
    """Settings of the rules. Defaults follow the DfE definitions in shared/DOMAIN.md."""

    window_months: int = 12
    # Facts older than this, counted back from the child's latest event, are forgotten:
    # it bounds state per child and must cover every rule's look-back.
    horizon_months: int = 24
    link_template: str | None = None
    enabled: frozenset[str] = field(default_factory=lambda: frozenset({"rereferral_after_agreement"}))

    def link(self, child_id: str) -> str | None:
        return self.link_template.format(child_id=child_id) if self.link_template else None


Evaluate = Callable[[str, ChildState, RulesConfig], list[Alert]]


@dataclass(frozen=True)
class Rule:
    """A rule: an id, the event types that can change its answer, and its evaluation.

    `evaluate` derives every alert the child's state supports; the engine emits only
    those that are new or changed, which is what makes the result independent of the
    order in which events arrive.
    """

    id: str
    triggers: frozenset[str]
    evaluate: Evaluate


def alert_id(rule: str, child_id: str, *keys: str) -> str:
    """Stable id from the rule and what triggered it: redelivery reproduces it exactly."""
    material = "|".join((rule, child_id, *keys)).encode()
    return hashlib.sha256(material).hexdigest()[:32]


def start_of(day: date) -> datetime:
    """Midnight UTC of a day, for alerts about a whole calendar day."""
    return datetime.combine(day, time(), tzinfo=UTC)
