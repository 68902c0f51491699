"""The one place where events and the clock meet state and the rules.

`apply_batch` (events and clock ticks for children, the live agents' batches) over
`apply_step`, itself `apply` (an event) or `tick` (the clock) for a child, and
`apply_team_fact` and `tick_team` for a team: the live Faust agents and the offline replay
call these and nothing else, so the two give the same alerts. Deterministic: no wall
clock, no I/O; `now` is a parameter.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from agents.calendar import add_months
from agents.rules import TEAM_RULE, Finding, Rule, RuleParams, RulesConfig
from agents.rules.base import alert_id, start_of
from agents.rules.team_rereferral_rate_high import affected_from, facts_after
from agents.state import (
    AgreementRecord,
    AssessmentRecord,
    ChildState,
    ConcernRecord,
    PlanRecord,
    ReferralRecord,
    TeamFact,
    TeamState,
)
from schemas.alerts import Alert, Severity
from schemas.events import (
    Assessment,
    CaseClosure,
    CaseEvent,
    Contact,
    Plan,
    Referral,
    Section47Enquiry,
    StrategyDiscussion,
    WrittenAgreement,
)

TEAM_TRIGGERS = frozenset({"referral", "agreement", "closure"})


@dataclass(slots=True)  # a value (not frozen: one is built per event)
class Outcome:
    """What one event or tick did: the updated state, alerts new or changed, facts for the teams."""

    state: ChildState
    alerts: list[Alert]
    stale: bool = False
    team_facts: tuple[TeamFact, ...] = ()


@dataclass(frozen=True, slots=True)
class ClockTick:
    """The clock, for one child: run its time-driven rules as of `now`."""

    child_id: str
    now: datetime


Step = CaseEvent | ClockTick


@dataclass(slots=True)
class BatchOutcome:
    """What a batch did, as values: the caller writes the states and sends the rest.

    `alerts` pairs each alert with the index of the step that raised it; `failed` maps
    the index of each step the rules could not apply to why (it changed nothing).
    """

    states: dict[str, ChildState] = field(default_factory=dict)
    alerts: list[tuple[int, Alert]] = field(default_factory=list)
    team_facts: list[tuple[int, TeamFact]] = field(default_factory=list)  # (index of the step, fact)
    stale: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def apply_batch(
    steps: Sequence[Step],
    load: Callable[[str], ChildState],
    config: RulesConfig,
    *,
    received_at: Sequence[datetime | None] | None = None,
) -> BatchOutcome:
    """Apply events and ticks in order; each child is loaded once, and returned once if changed.

    `received_at[i]`, when given, is when step i's message arrived (live: its Kafka
    timestamp): it bounds how far one event's date can move the child's latest day (`apply`).

    `load(child_id)` gives the child's stored state (a fresh copy each call; an empty
    state for a child never seen). A tick for a child with no events has nothing due.
    A step that raises (or whose child's state cannot be loaded) is a failure of that
    step alone: it is reported in `failed`, and its child's state is rebuilt from the
    stored one and the batch's earlier steps, so a half-applied step never reaches it.
    """
    result = BatchOutcome()
    working: dict[str, ChildState] = {}
    done: dict[str, list[tuple[Step, datetime | None]]] = {}  # steps applied so far, per child, for a rebuild
    for index, step in enumerate(steps):
        child_id = step.child_id
        arrived = received_at[index] if received_at is not None else None
        try:
            state = working.get(child_id)
            if state is None:
                state = working[child_id] = load(child_id)
            outcome = apply_step(state, step, config, arrived)
        except Exception as error:  # a bug, or a stored state that cannot be read: this step only
            result.failed[index] = f"{type(error).__name__} while applying the rules"
            working.pop(child_id, None)  # the next step of this child starts from the stored state
            if child_id in done:
                working[child_id] = _rebuild(load(child_id), done[child_id], config)
            continue
        if outcome is None or outcome.stale:
            if outcome is not None:
                result.stale.append(index)
            continue
        done.setdefault(child_id, []).append((step, arrived))
        result.states[child_id] = outcome.state
        result.alerts += [(index, alert) for alert in outcome.alerts]
        result.team_facts += [(index, fact) for fact in outcome.team_facts]
    for child_id in result.states:
        result.states[child_id] = working[child_id]
    return result


def apply_step(
    state: ChildState, step: Step, config: RulesConfig, received_at: datetime | None = None
) -> Outcome | None:
    """One event or tick on its child's state (updated in place); None for a tick with nothing to do.

    The replay calls this straight, one step at a time: it keeps every state in memory and
    stops on the first failure, so `apply_batch`'s loading and rebuilding would be overhead.
    """
    if isinstance(step, ClockTick):
        # A child forgotten (or never seen) since the tick was sent has nothing due.
        return tick(state, step.child_id, step.now, config) if state.latest is not None else None
    return apply(state, step, config, received_at=received_at)


def _rebuild(state: ChildState, steps: Iterable[tuple[Step, datetime | None]], config: RulesConfig) -> ChildState:
    for step, arrived in steps:  # these applied once without error, and the engine is deterministic
        apply_step(state, step, config, arrived)
    return state


def apply(state: ChildState, event: CaseEvent, config: RulesConfig, *, received_at: datetime | None = None) -> Outcome:
    """Fold one event into the child's state and run the rules it can affect.

    The state is updated in place (it is the caller's fresh copy, from a table or the
    replay's dictionary) and returned. An event older than the retention horizon,
    counted back from the child's latest event, cannot be judged any more: it is
    reported as stale and changes nothing.

    `received_at` (live: the message's timestamp) bounds the child's latest day: one event
    dated years ahead (a typing error, an attack) would otherwise make every real event
    after it stale and prune the child's history. Replay, in event-time order, passes none.
    """
    day = event.day
    bound = None if received_at is None else _day(received_at) + RECEIVED_SKEW
    latest = _capped(state.latest, bound)
    if latest is not None and day < latest:
        cutoff = horizon_cutoff(latest, config.horizon_months)
        if cutoff is not None and day < cutoff:
            return Outcome(state, [], stale=True)
    fold(state, event)
    state.latest = moved = _capped(state.latest, bound)
    if latest is not None and moved is not None and (moved.year, moved.month) > (latest.year, latest.month):
        prune(state, add_months(moved.replace(day=1), -config.horizon_months))
    child_id, kind = event.child_id, event.event_type
    alerts: list[Alert] = []
    for rule, params in config.event_rules.get(kind, ()):
        found = rule.evaluate(state, event, params)
        if found:
            alerts += _emit(state.emitted, rule, params, child_id, child_id, found, config)
    if kind in config.time_triggers:
        state.due = _earliest(state.due, next_due(state, child_id, config, kind))
    facts: tuple[TeamFact, ...] = ()
    if kind in TEAM_TRIGGERS:
        team = config.of(TEAM_RULE)
        if team.enabled:
            facts = tuple(facts_after(child_id, state, event, team))
    return Outcome(state, alerts, team_facts=facts)


# How far past its arrival an event's day may still count as the child's latest (clocks drift).
RECEIVED_SKEW = timedelta(days=1)


def _capped(day: date | None, bound: date | None) -> date | None:
    return day if day is None or bound is None else min(day, bound)


def tick(state: ChildState, child_id: str, now: datetime, config: RulesConfig) -> Outcome:
    """Run the time-driven rules as of `now`: raise every deadline passed and still open."""
    today = _day(now)
    alerts: list[Alert] = []
    for rule, params in config.time_rules:
        found = [d.make() for d in rule.deadlines(state, params) if d.due <= today]
        alerts += _emit(state.emitted, rule, params, child_id, child_id, found, config)
    state.due = next_due(state, child_id, config)
    return Outcome(state, alerts)


def next_due(state: ChildState, child_id: str, config: RulesConfig, kind: str | None = None) -> date | None:
    """The first day a time-driven rule could raise something not raised yet.

    With `kind`, only the rules an event of that type can affect are asked: the others'
    deadlines have not moved. `apply` keeps the earlier of that and the day it had, which
    may be a deadline the event settled; a tick on that day then finds nothing and asks
    every rule. Too early costs a tick; too late would cost an alert.
    """
    due = None
    for rule, params in config.time_rules:
        if kind is not None and kind not in rule.triggers:
            continue
        for deadline in rule.deadlines(state, params):
            if (due is None or deadline.due < due) and alert_id(rule.id, child_id, *deadline.keys) not in state.emitted:
                due = deadline.due
    return due


def _earliest(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)


def fold(state: ChildState, event: CaseEvent) -> None:
    """Record the event's facts. Ties are broken by event id so any order gives one state."""
    day = event.day
    if state.latest is None or day > state.latest:
        state.latest = day
    if isinstance(event, Referral):
        known = state.referrals.get(day)
        if known is None or event.event_id < known.event_id:
            state.referrals[day] = ReferralRecord(event.event_id, event.team, event.referrals_last_12_months)
        if event.concerns:
            state.concerns[event.event_id] = ConcernRecord(day, "referral", frozenset(event.concerns))
    elif isinstance(event, CaseClosure):  # the day opens a new episode; the team, for the team rates
        known_closure = state.closures.get(day)
        if known_closure is None or event.event_id < known_closure[0]:
            state.closures[day] = (event.event_id, event.team)
    elif isinstance(event, Contact):
        _keep_first(state.contacts, day, event.event_id)
        if event.concerns:
            state.concerns[event.event_id] = ConcernRecord(day, "contact", frozenset(event.concerns))
    elif isinstance(event, Assessment):
        _fold_assessment(state, event)
    elif isinstance(event, WrittenAgreement):
        _fold_agreement(state.agreements.setdefault(event.agreement_id, AgreementRecord()), event)
    elif isinstance(event, Section47Enquiry):
        known_enquiry = state.enquiries.get(event.enquiry_id)
        if known_enquiry is None or (day, event.event_id) < known_enquiry:
            state.enquiries[event.enquiry_id] = (day, event.event_id)
    elif isinstance(event, StrategyDiscussion):
        _keep_first(state.strategy_discussions, day, event.event_id)
    elif isinstance(event, Plan):
        _fold_plan(state, event)


def _keep_first(days: dict[date, str], day: date, event_id: str) -> None:
    """One event per day: the lowest id, so any arrival order keeps the same one."""
    known = days.get(day)
    if known is None or event_id < known:
        days[day] = event_id


def _fold_assessment(state: ChildState, event: Assessment) -> None:
    """One record per assessment id: the earliest event, and every factor any version gave."""
    day, factors, started = event.day, frozenset(event.factors), event.started_on
    known = state.assessments.get(event.assessment_id)
    if known is None:
        state.assessments[event.assessment_id] = AssessmentRecord(day, event.event_id, event.team, factors, started)
        return
    known.factors = known.factors | factors
    if started is not None and (known.started is None or started < known.started):
        known.started = started
    if (day, event.event_id) < (known.day, known.event_id):
        known.day, known.event_id, known.team = day, event.event_id, event.team


def _fold_agreement(record: AgreementRecord, event: WrittenAgreement) -> None:
    day = event.day
    record.accompanies_closure = record.accompanies_closure or event.accompanies_closure
    if record.team is None:
        record.team = event.team
    if event.action == "made":
        if record.made is None or (day, event.event_id) < (record.made, str(record.made_event_id)):
            record.made, record.made_event_id = day, event.event_id
            record.team, record.review_due = event.team, event.review_due
    elif event.action == "reviewed":
        known = record.reviews.get(day)
        record.reviews[day] = event.review_due if known is None else max(known, event.review_due or known)
    elif event.action == "breached":
        known_id = record.breaches.get(day)
        if known_id is None or event.event_id < known_id:
            record.breaches[day] = event.event_id
    elif event.action == "ended":
        record.ended = day if record.ended is None else min(record.ended, day)


def _fold_plan(state: ChildState, event: Plan) -> None:
    """A plan is the span its events show it open, with every category it was given."""
    day, categories = event.day, frozenset(event.categories)
    if event.action != "ended":  # a CIN or CP meeting: the plan's start (conference) or a review
        _keep_first(state.meetings, day, event.event_id)
    ended = day if event.action == "ended" else None
    known = state.plans.get(event.plan_id)
    if known is None:
        state.plans[event.plan_id] = PlanRecord(
            event.plan_type, day, day, event.event_id, event.team, categories, ended, event.previous_plans
        )
        return
    known.categories = known.categories | categories
    known.last = max(known.last, day)
    if ended is not None and (known.ended is None or ended < known.ended):
        known.ended = ended
    if event.previous_plans is not None:
        known.previous_plans = max(known.previous_plans or 0, event.previous_plans)
    if (day, event.event_id) < (known.first, known.event_id):
        known.first, known.event_id, known.team = day, event.event_id, event.team


def horizon_cutoff(latest: date | None, horizon_months: int) -> date | None:
    """Facts before this day are forgotten. Whole months, so pruning runs once a month, not per event."""
    return None if latest is None else add_months(latest.replace(day=1), -horizon_months)


def prune(state: ChildState, cutoff: date) -> None:
    """Forget facts older than the cutoff, so state per child stays small.

    Each part is rebuilt only when it holds something older (a check that builds nothing:
    most months forget nothing), since this runs whenever the child's latest event moves
    into a new month.
    """
    if state.referrals and min(state.referrals) < cutoff:
        state.referrals = {d: r for d, r in state.referrals.items() if d >= cutoff}
    if state.agreements and any(max(a.days(), default=cutoff) < cutoff for a in state.agreements.values()):
        state.agreements = {k: a for k, a in state.agreements.items() if max(a.days(), default=cutoff) >= cutoff}
    if state.assessments and any(a.day < cutoff for a in state.assessments.values()):
        state.assessments = {k: a for k, a in state.assessments.items() if a.day >= cutoff}
    if state.concerns and any(c.day < cutoff for c in state.concerns.values()):
        state.concerns = {k: c for k, c in state.concerns.items() if c.day >= cutoff}
    if state.enquiries and any(e[0] < cutoff for e in state.enquiries.values()):
        state.enquiries = {k: e for k, e in state.enquiries.items() if e[0] >= cutoff}
    if state.plans and any(p.last < cutoff for p in state.plans.values()):
        state.plans = {k: p for k, p in state.plans.items() if p.last >= cutoff}
    if state.strategy_discussions and min(state.strategy_discussions) < cutoff:
        state.strategy_discussions = {d: e for d, e in state.strategy_discussions.items() if d >= cutoff}
    for name in ("closures", "contacts", "meetings"):
        days: dict[date, Any] = getattr(state, name)
        if days and min(days) < cutoff:
            setattr(state, name, {d: e for d, e in days.items() if d >= cutoff})
    if state.emitted and any(v[1] < cutoff for v in state.emitted.values()):
        state.emitted = {k: v for k, v in state.emitted.items() if v[1] >= cutoff}
    if state.reported and not all(_still_known(state, k) for k in state.reported):
        # what is forgotten here, the team forgets by the same horizon
        state.reported = {k: v for k, v in state.reported.items() if _still_known(state, k)}


def _still_known(state: ChildState, key: str) -> bool:
    return date.fromisoformat(key[2:]) in state.referrals if key[0] == "r" else key[2:] in state.agreements


def apply_team_fact(state: TeamState, fact: TeamFact, config: RulesConfig) -> None:
    """Add one change to its team's counters: once per stamp, in any order (see TeamState)."""
    if fact.source is not None:
        seen = state.seen.get(fact.source)
        if seen is not None and (fact.offset, fact.index) <= seen:
            return  # counted already: its input message was handled again
        state.seen[fact.source] = (fact.offset, fact.index)
    cutoff = horizon_cutoff(state.latest, config.horizon_months)
    floor = None if cutoff is None else cutoff.isoformat()[:7]
    for name, delta in fact.counts.items():
        if floor is not None and name[:7] < floor:
            continue  # before the horizon: the team has forgotten that month
        value = state.counts.get(name, 0) + delta
        if value:
            state.counts[name] = value
        else:
            state.counts.pop(name, None)
    first = min(date.fromisoformat(name[:7] + "-01") for name in fact.counts) if fact.counts else fact.day
    if cutoff is None or first >= cutoff:
        state.since = first if state.since is None else min(state.since, first)
    if state.evaluated is not None:  # a late fact: the judged months it moves are judged again
        moved = affected_from(fact)
        if moved <= state.evaluated:
            state.rejudge = moved if state.rejudge is None else min(state.rejudge, moved)
    if state.latest is None or fact.day > state.latest:
        state.latest = fact.day
        after = horizon_cutoff(state.latest, config.horizon_months)
        if after is not None and after != cutoff:
            floor = after.isoformat()[:7]
            state.counts = {k: v for k, v in state.counts.items() if k[:7] >= floor}
            state.emitted = {k: v for k, v in state.emitted.items() if v[1] >= after}
    params = config.of(TEAM_RULE)
    state.due = TEAM_RULE.due(state, params) if params.enabled else None


def tick_team(state: TeamState, team: str, now: datetime, config: RulesConfig) -> list[Alert]:
    """Judge the team's months its event time has passed (by the settle days) and `now` too,
    and judge again those a late fact has changed."""
    params = config.of(TEAM_RULE)
    if not params.enabled:
        state.due = None
        return []
    today = _day(now)
    found = list(TEAM_RULE.evaluate(team, state, today, params))
    alerts = _emit(state.emitted, TEAM_RULE, params, team, None, found, config)
    if state.latest is not None:
        through = TEAM_RULE.judged_through(min(today, state.latest), params)
        if state.evaluated is None or through > state.evaluated:
            state.evaluated = through
        if state.rejudge is not None and state.rejudge <= through:
            state.rejudge = None
    state.due = TEAM_RULE.due(state, params)
    return alerts


def _emit(
    emitted: dict[str, tuple[str, date]],
    rule: Rule[Any],
    params: RuleParams,
    subject: str,
    child_id: str | None,
    findings: Iterable[Finding],
    config: RulesConfig,
) -> list[Alert]:
    """Alerts for the findings that are new or changed; `emitted` remembers what went out."""
    alerts = []
    for finding in findings:
        severity: Severity = finding.severity or params.severity
        identity = alert_id(rule.id, subject, *finding.keys)
        fingerprint = finding.fingerprint(severity)
        previous = emitted.get(identity)
        if previous is not None and previous[0] == fingerprint:
            continue
        emitted[identity] = (fingerprint, finding.day)
        alerts.append(_render(rule, params, identity, severity, child_id, finding, config))
    return alerts


def _render(
    rule: Rule[Any],
    params: RuleParams,
    identity: str,
    severity: Severity,
    child_id: str | None,
    finding: Finding,
    config: RulesConfig,
) -> Alert:
    return Alert(
        alert_id=identity,
        rule=rule.id,
        severity=severity,
        delivery=finding.delivery or params.delivery,
        child_id=child_id,
        team=finding.team,
        occurred_at=start_of(finding.day),
        event_ids=list(finding.event_ids),
        facts=dict(finding.facts),
        explanation=rule.explanation.format_map(finding.facts),
        action=rule.action.format_map(finding.facts),
        link=config.link(child_id) if child_id is not None else None,
    )


def _day(now: datetime) -> date:
    """The UTC calendar day of `now` (a naive time is taken as UTC, as events are)."""
    return now.date() if now.tzinfo is None else now.astimezone(UTC).date()
