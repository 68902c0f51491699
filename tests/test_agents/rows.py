"""Helpers for the table-driven rule tests: terse events, and a row run two ways.

A row is a sequence of events in ARRIVAL order (late events are simply listed late),
possibly with `Tick(day)` markers where the live clock runs, and a final `now`. It is run
as the live worker would (the events between ticks as one batch through
`engine.apply_batch`, the worker's own function, on states that round-trip through JSON
like a Faust table, ticks at the markers and at `now`) and through `replay`
(event-time order, the clock driven by stream time up to `now`). The alert ids each way
are compared with the ids the row expects.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from agents.engine import ClockTick, apply_batch, apply_team_fact, tick_team
from agents.replay import replay
from agents.rules import RulesConfig
from agents.rules.base import alert_id
from agents.state import ChildState, TeamState
from schemas.alerts import Alert
from schemas.events import (
    Assessment,
    CaseClosure,
    CaseEvent,
    Contact,
    Plan,
    PlanOutcome,
    Referral,
    Section47Enquiry,
    StrategyDiscussion,
    WrittenAgreement,
)

CHILD = "C1"
TEAM = "Team A"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


def _base(kind: str, day: str, event_id: str | None, child: str, team: str) -> dict[str, object]:
    return {
        "event_id": event_id or f"{kind}:{child}:{day}",
        "child_id": child,
        "occurred_at": at(day),
        "recorded_at": at(day) + timedelta(hours=1),
        "team": team,
        "source": "test",
    }


def referral(day: str, *concerns: str, id: str | None = None, child: str = CHILD, team: str = TEAM) -> Referral:
    return Referral(**_base("referral", day, id, child, team), concerns=list(concerns))


def closure(day: str, reason: str = "RC7", *, id: str | None = None, child: str = CHILD) -> CaseClosure:
    return CaseClosure(**_base("closure", day, id, child, TEAM), reason=reason)


def contact(day: str, *concerns: str, id: str | None = None, child: str = CHILD, team: str = TEAM) -> Contact:
    return Contact(**_base("contact", day, id, child, team), concerns=list(concerns))


def agreement(
    day: str,
    action: str = "made",
    *,
    agreement: str = "wa1",
    review_due: str | None = None,
    closure: bool = False,
    id: str | None = None,
    child: str = CHILD,
    team: str = TEAM,
) -> WrittenAgreement:
    return WrittenAgreement(
        **_base(f"agreement-{agreement}-{action}", day, id, child, team),
        agreement_id=agreement,
        action=action,  # type: ignore[arg-type]
        review_due=date.fromisoformat(review_due) if review_due else None,
        accompanies_closure=closure,
    )


def assessment(
    day: str,
    *factors: str,
    assessment: str = "a1",
    views: bool | None = None,
    started: str | None = None,
    id: str | None = None,
    child: str = CHILD,
    team: str = TEAM,
) -> Assessment:
    return Assessment(
        **_base(f"assessment-{assessment}", day, id, child, team),
        assessment_id=assessment,
        factors=list(factors),
        child_views_recorded=views,
        started_on=date.fromisoformat(started) if started else None,
    )


def strategy(day: str, *, id: str | None = None, child: str = CHILD) -> StrategyDiscussion:
    return StrategyDiscussion(**_base("strategy", day, id, child, TEAM))


def section47(day: str, *, enquiry: str = "e1", id: str | None = None, child: str = CHILD) -> Section47Enquiry:
    return Section47Enquiry(**_base(f"s47-{enquiry}", day, id, child, TEAM), enquiry_id=enquiry)


def outcome(name: str, *, measure: bool = True, owner: bool = True, target: str | None = "2025-01-01") -> PlanOutcome:
    target_date = date.fromisoformat(target) if target else None
    return PlanOutcome(outcome_id=name, has_measure=measure, has_owner=owner, target_date=target_date)


def plan(
    day: str,
    action: str = "started",
    *,
    plan: str = "p1",
    type: str = "cp",
    categories: Sequence[str] = (),
    outcomes: Sequence[PlanOutcome] = (),
    id: str | None = None,
    child: str = CHILD,
) -> Plan:
    return Plan(
        **_base(f"plan-{plan}-{action}", day, id, child, TEAM),
        plan_id=plan,
        plan_type=type,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
        categories=list(categories),
        outcomes=list(outcomes),
    )


@dataclass(frozen=True)
class Tick:
    """The live clock runs here, at the start of `day` (a row may list it between events)."""

    day: str


Step = CaseEvent | Tick


def expect(rule: str, *keys: tuple[str, ...], child: str = CHILD) -> set[str]:
    """The alert ids a rule raises for these keys (what makes its ids)."""
    return {alert_id(rule, child, *k) for k in keys}


def run_live(steps: Iterable[Step], now: str | None, config: RulesConfig) -> list[Alert]:
    """Every alert raised, as the worker would raise them: arrival order, in batches through
    `engine.apply_batch` on states that round-trip through JSON like a Faust table, ticks, teams."""
    tables: dict[str, dict[str, object]] = {}
    teams: dict[str, dict[str, object]] = {}
    raised: list[Alert] = []

    def load(child: str) -> ChildState:
        return ChildState.from_dict(_json(tables.get(child)))

    def run_batch(batch: Sequence[CaseEvent | ClockTick]) -> None:
        outcome = apply_batch(batch, load, config)
        assert not outcome.failed, outcome.failed
        tables.update((child, state.to_dict()) for child, state in outcome.states.items())
        raised.extend(alert for _, alert in outcome.alerts)
        for _, fact in outcome.team_facts:
            state = TeamState.from_dict(_json(teams.get(fact.team)))
            apply_team_fact(state, fact, config)
            teams[fact.team] = state.to_dict()

    def run_clock(moment: datetime) -> None:
        run_batch([ClockTick(child, moment) for child in tables])
        for team, stored in teams.items():
            state = TeamState.from_dict(_json(stored))
            raised.extend(tick_team(state, team, moment, config))
            teams[team] = state.to_dict()

    batch: list[CaseEvent | ClockTick] = []  # the events between two ticks arrive as one batch
    for step in steps:
        if isinstance(step, Tick):
            run_batch(batch)
            batch = []
            run_clock(at(step.day).replace(hour=0))
        else:
            batch.append(step)
    run_batch(batch)
    if now is not None:
        run_clock(at(now).replace(hour=0))
    return raised


def run_replay(steps: Iterable[Step], now: str | None, config: RulesConfig) -> list[Alert]:
    events = [s for s in steps if not isinstance(s, Tick)]
    return list(replay(events, config, as_of=date.fromisoformat(now) if now else None).alerts.values())


def ids(alerts: Iterable[Alert], rule: str) -> set[str]:
    return {a.alert_id for a in alerts if a.rule == rule}


def _json(stored: dict[str, object] | None) -> dict[str, object] | None:
    """Through JSON text and back, as a Faust table's changelog would carry it."""
    return None if stored is None else json.loads(json.dumps(stored))


# The replay expectation, when it is the live one (the usual case: the answer does not
# depend on arrival order). A row where they differ says so, and why.
SAME: tuple[tuple[str, ...], ...] = (("<same as live>",),)
ROW_FIELDS = ("steps", "now", "expected", "in_replay", "config")


def row(
    name: str,
    steps: Sequence[Step],
    now: str | None,
    expected: Sequence[tuple[str, ...]],
    *,
    in_replay: Sequence[tuple[str, ...]] = SAME,
    config: RulesConfig | None = None,
) -> object:
    """One table row: the steps, `now`, and the keys of the alerts expected (live, and replay)."""
    import pytest

    return pytest.param(list(steps), now, tuple(expected), tuple(in_replay), config, id=name)


def check(
    rule: str,
    steps: Sequence[Step],
    now: str | None,
    expected: Sequence[tuple[str, ...]],
    in_replay: Sequence[tuple[str, ...]],
    config: RulesConfig | None,
) -> None:
    config = config or RulesConfig()
    live = run_live(steps, now, config)
    assert ids(live, rule) == expect(rule, *expected), "live"
    replayed = expected if tuple(in_replay) == SAME else in_replay
    assert ids(run_replay(steps, now, config), rule) == expect(rule, *replayed), "replay"
