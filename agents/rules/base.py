"""What every rule shares: its settings, what it finds, and how a finding gets its alert id.

A rule never builds an `Alert` itself. It returns `Finding`s, plain records of what it
saw (keys, dates, event ids, facts); the engine turns only the new or changed ones into
alerts. That keeps pydantic out of the hot loop and puts the wording, the link and the
severity in one place.
"""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Generic, TypeVar

from agents.state import ChildState, TeamState
from schemas.alerts import DeliveryClass, FactValue, Severity
from schemas.events import CaseEvent


def setting(default: Any, help: str, **limits: Any) -> Any:
    """A rule parameter: its default, one line of help, and its limits (minimum, maximum, choices)."""
    return field(default=default, metadata={"help": help, **limits})


@dataclass(frozen=True)
class RuleParams:
    """Settings every rule has. Each rule subclasses this with its own parameters."""

    enabled: bool = setting(True, "raise this rule's alerts")
    severity: Severity = setting("medium", "severity of its alerts: low, medium or high")
    delivery: DeliveryClass = setting(
        "worklist", "how its findings reach a manager: immediate, worklist (weekly) or report (QA report only)"
    )


P = TypeVar("P", bound=RuleParams)


@dataclass(slots=True)  # not frozen: built in the hot loop, and frozen init costs twice as much
class Finding:
    """One thing a rule found, before it becomes an alert (a value: never changed once built).

    `keys`, with the rule id and the child (or team), make the alert id: they must name
    the triggering facts only, so the same facts give the same id live and in replay.
    `severity` overrides the configured one when the rule escalates; `delivery` likewise
    overrides the rule's delivery class for a finding that needs it (e.g. same-day).
    """

    keys: tuple[str, ...]
    team: str
    day: date
    event_ids: tuple[str, ...]
    facts: dict[str, FactValue]
    severity: Severity | None = None
    delivery: DeliveryClass | None = None

    def fingerprint(self, severity: Severity) -> str:
        """Short digest of the content, to tell an update from a repeat (stable across processes)."""
        material = repr((severity, self.team, self.day.toordinal(), self.event_ids, sorted(self.facts.items())))
        return hashlib.blake2b(material.encode(), digest_size=6).hexdigest()


@dataclass(slots=True)
class Deadline:
    """A time-driven finding that holds from `due` on, unless an event settles it first.

    `keys` are the finding's; `make` builds the finding itself, only once it is due (the
    engine asks for every open deadline after most events, to know the next due day).
    """

    due: date
    keys: tuple[str, ...]
    make: Callable[[], Finding]


@dataclass(frozen=True, kw_only=True)
class Rule(Generic[P]):
    """A rule's identity and wording. `explanation` and `action` are formatted with the facts."""

    id: str
    params: type[P]
    finding: str  # the peer-review finding it serves, quoted from shared/DOMAIN.md
    explanation: str
    action: str

    def defaults(self) -> P:
        return self.params()


@dataclass(frozen=True, kw_only=True)
class EventRule(Rule[P]):
    """Evaluated when an event of one of `triggers` is applied.

    `evaluate` returns every finding the event may have created or changed (all the state
    supports, or only those near the event, for speed). Its answer must only grow as facts
    arrive (it looks for facts that are there, never for ones that are missing), so live
    and replay agree whatever order events arrive in.
    """

    triggers: frozenset[str]
    evaluate: Callable[[ChildState, CaseEvent, P], Iterable[Finding]]


@dataclass(frozen=True, kw_only=True)
class TimeRule(Rule[P]):
    """Looks for something missing by a deadline; run by the clock (live timer, replay stream time).

    `deadlines` lists every open deadline in the state. A deadline's answer must depend only
    on facts dated up to the deadline, so evaluating it late, or twice, changes nothing.
    `triggers` are the event types that can open or settle a deadline.
    """

    triggers: frozenset[str]
    deadlines: Callable[[ChildState, P], Iterable[Deadline]]


@dataclass(frozen=True, kw_only=True)
class TeamRule(Rule[P]):
    """Judges one team's aggregate, period by period, as the clock passes `due(state, params)`.

    `evaluate(team, state, today, params)` returns the findings of every period ready by
    `today` and not yet judged; `judged_through(today, params)` is the last such period,
    which the engine records so that no period is judged twice.
    """

    evaluate: Callable[[str, TeamState, date, P], Iterable[Finding]]
    judged_through: Callable[[date, P], date]
    due: Callable[[TeamState, P], date | None]


def alert_id(rule: str, subject: str, *keys: str) -> str:
    """Stable id from the rule, the child (or team) and what triggered it."""
    material = "|".join((rule, subject, *keys)).encode()
    return hashlib.sha256(material).hexdigest()[:32]


def start_of(day: date) -> datetime:
    """Midnight UTC of a day, for alerts about a whole calendar day."""
    return datetime.combine(day, time(), tzinfo=UTC)


def codes(values: Iterable[str]) -> str:
    """Codes as one fact value: sorted, comma-separated ('' when none)."""
    return ",".join(sorted(values))
