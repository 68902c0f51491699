"""Team re-referral rate: each month's figure for the QA report, and a change alert.

Finding served (LGA peer review, shared/DOMAIN.md): "quality assurance should drive
improvements in practice": the re-referral rate, and the rate of agreements followed by
re-referral, per team and per month, beside the national figure. The DfE notes that high
re-referral levels may indicate cases closed prematurely or interventions that did not
succeed, which is about the team that **closed** the previous episode: a re-referral is
attributed to it (the latest case closure between the previous referral and this one),
and any other referral to the front door that took it. The front door's own figures are
kept alongside.

The judged rate is the DfE's, for the team that took the referrals (its front door): of
the referrals it received in the 12 months to the end of a month, the share that came
within 12 calendar months of an earlier referral of the same child (the same child and day
once). The figures attributed to a closing team are reported beside it but never judged:
a team that only closes cases has only re-referrals attributed to it (its rate would read
100%), and its own rate (of the episodes it closed, the share referred again) needs a
year's follow-up, so it is the QA report's funnel, not a timely alert. A rate on 20
referrals has a standard error of about 9 points, so a month above the national figure
says little: every judged month is a `report` finding (counted in the QA report, never a
message), and only a **change** is an alert of the rule's delivery class: the rate above
the upper control limit of a p-chart (comparator `threshold` + `control_sigmas` standard
errors at the team's own number of referrals) for two months running. It is raised on the
second month of a run, not again while the run lasts.

A month is judged by the team's event time (the latest event its facts came from), once
that has passed the month's end by `settle_days` (the allowed lateness), and only once
the team's facts cover a whole period. A fact that arrives later and changes a judged
month has that month (and the ones after it) judged again: the same alert id, updated.
Every figure depends only on events dated up to the month's end, so the last judgement
of each month is the same live and in replay.
"""

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from agents.calendar import add_months, within_months_after
from agents.rules.base import Finding, RuleParams, TeamRule, setting
from agents.state import ChildState, TeamFact, TeamState, TeamUnit
from schemas.events import CaseClosure, CaseEvent, Referral, WrittenAgreement

RULE_ID = "team_rereferral_rate_high"
NATIONAL_RATE = 0.226  # 142,900 of 632,830 referrals in England, year to March 2025


@dataclass(frozen=True)
class Params(RuleParams):
    threshold: float = setting(NATIONAL_RATE, "comparator re-referral rate: the centre line of the control chart "
                               "(0.226 = 22.6%, England)", minimum=0.0, maximum=1.0)  # fmt: skip
    control_sigmas: float = setting(3.0, "standard errors above the comparator, at the team's number of "
                                    "referrals, of the upper control limit", minimum=0.0)  # fmt: skip
    min_referrals: int = setting(20, "fewest referrals received in the period for a rate to be judged", minimum=1)
    period_months: int = setting(12, "months in the rolling period", minimum=1)
    rereferral_months: int = setting(12, "DfE re-referral window, and the window for an agreement to count as "
                                     "followed by a referral", minimum=1)  # fmt: skip
    settle_days: int = setting(7, "days the team's event time must pass a month's end before it is judged "
                               "(the allowed lateness)", minimum=0)  # fmt: skip


@dataclass(frozen=True)
class Rates:
    """A team's figures for one period of whole months (first and last day included)."""

    first: date
    last: date
    referrals: int
    rereferrals: int
    front_door_referrals: int
    front_door_rereferrals: int
    agreements: int
    followed: int

    @property
    def rereferral_rate(self) -> float | None:
        return self.rereferrals / self.referrals if self.referrals else None

    @property
    def front_door_rate(self) -> float | None:
        return self.front_door_rereferrals / self.front_door_referrals if self.front_door_referrals else None

    @property
    def agreement_rate(self) -> float | None:
        return self.followed / self.agreements if self.agreements else None


def rates(state: TeamState, first: date, last: date) -> Rates:
    """The team's figures over the months from `first`'s to `last`'s (whole months)."""
    low, high = _month(first), _month(last)
    totals: Counter[str] = Counter()
    followed = 0
    for name, value in state.counts.items():
        month, what = name[:7], name[8:]
        if not low <= month <= high:
            continue
        if what.startswith("f:"):
            followed += value if what[2:] <= high else 0
        else:
            totals[what] += value
    return Rates(
        first=_month_start(low),
        last=_month_end(_month_start(high)),
        referrals=totals["r"],
        rereferrals=totals["rr"],
        front_door_referrals=totals["fr"],
        front_door_rereferrals=totals["frr"],
        agreements=totals["a"],
        followed=followed,
    )


def rolling(state: TeamState, today: date, params: Params) -> Rates:
    """The `period_months` whole months to today's, for the live gauges."""
    return rates(state, add_months(today.replace(day=1), 1 - params.period_months), today)


def upper_control_limit(params: Params, referrals: int) -> float:
    """p-chart upper limit: the comparator plus `control_sigmas` binomial standard errors at n referrals."""
    p = params.threshold
    return p + params.control_sigmas * math.sqrt(p * (1 - p) / referrals)


def evaluate(team: str, state: TeamState, today: date, params: Params) -> list[Finding]:
    """Every month ready by the team's event time (and `today`) and not judged, or changed since."""
    first = _first_judgeable(state, params)
    month = _next_to_judge(state, params)
    if first is None or month is None or state.latest is None:
        return []
    last = judged_through(min(today, state.latest), params)
    findings = []
    while month <= last:
        figures = _figures(state, month, params)
        if figures.front_door_referrals >= params.min_referrals:
            above = _above(state, month, params, first)
            change = above and _above(state, add_months(month, -1), params, first)
            change = change and not _above(state, add_months(month, -2), params, first)
            findings.append(_finding(team, month, figures, params, change))
        month = add_months(month, 1)
    return findings


def judged_through(today: date, params: Params) -> date:
    """The first day of the last month that is over, settle days included, by `today`."""
    month = today.replace(day=1)
    while add_months(month, 1) + timedelta(days=params.settle_days) > today:
        month = add_months(month, -1)
    return month


def due(state: TeamState, params: Params) -> date | None:
    """The day the next judgement can be made, once the team's event time has reached it."""
    month = _next_to_judge(state, params)
    if month is None or state.latest is None:
        return None
    ready = add_months(month, 1) + timedelta(days=params.settle_days)
    return ready if ready <= state.latest else None


def _next_to_judge(state: TeamState, params: Params) -> date | None:
    first = _first_judgeable(state, params)
    if first is None:
        return None
    month = first if state.evaluated is None else max(first, add_months(state.evaluated, 1))
    if state.rejudge is not None:
        month = max(first, min(month, state.rejudge))
    return month


def _first_judgeable(state: TeamState, params: Params) -> date | None:
    """The first month whose whole period lies after the team's first fact."""
    return None if state.since is None else add_months(state.since.replace(day=1), params.period_months - 1)


def _figures(state: TeamState, month: date, params: Params) -> Rates:
    return rates(state, add_months(month, 1 - params.period_months), month)


def _above(state: TeamState, month: date, params: Params, first: date) -> bool:
    if month < first:
        return False
    figures = _figures(state, month, params)
    rate = figures.front_door_rate
    if figures.front_door_referrals < params.min_referrals or rate is None:
        return False
    return rate > upper_control_limit(params, figures.front_door_referrals)


def _month(day: date) -> str:
    return day.isoformat()[:7]


def _month_start(month: str) -> date:
    return date.fromisoformat(month + "-01")


def _month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def _percent(rate: float | None) -> str | None:
    return None if rate is None else f"{100 * rate:.1f}"


def _finding(team: str, month: date, figures: Rates, params: Params, change: bool) -> Finding:
    limit = upper_control_limit(params, figures.front_door_referrals)
    return Finding(
        keys=(_month(month),),
        team=team,
        day=figures.last,
        event_ids=(),
        facts={
            "month": _month(month),
            "period_start": figures.first.isoformat(),
            "period_end": figures.last.isoformat(),
            "referrals": figures.referrals,
            "rereferrals": figures.rereferrals,
            "rereferral_rate_percent": _percent(figures.rereferral_rate),
            "comparator_percent": _percent(params.threshold),
            "upper_control_limit_percent": _percent(limit),
            "change": change,
            "verdict": "above the upper control limit for two months running: a change"
            if change
            else "no change to act on (report only)",
            "front_door_referrals": figures.front_door_referrals,
            "front_door_rereferrals": figures.front_door_rereferrals,
            "front_door_rate_percent": _percent(figures.front_door_rate),
            "agreements": figures.agreements,
            "agreements_followed": figures.followed,
            "agreement_followed_rate_percent": _percent(figures.agreement_rate),
        },
        delivery=None if change else "report",
    )


def facts_after(child_id: str, state: ChildState, event: CaseEvent, params: Params) -> list[TeamFact]:
    """The changes to the teams' counters this event makes: the new answer of every referral
    or agreement it can affect, against what the child reported before (`state.reported`,
    updated here). Nothing is sent when nothing changed, so the team counts each once."""
    window = params.rereferral_months
    day = event.day
    keys: list[str] = []
    if isinstance(event, Referral):
        # Its own flag, the referrals it may make re-referrals (or re-attribute), the agreements it follows.
        until = add_months(day, window)
        keys += [f"r:{other.isoformat()}" for other in sorted(state.referrals) if day <= other <= until]
        since = add_months(day, -window)
        keys += [f"a:{k}" for k, a in sorted(state.agreements.items()) if a.made is not None and since <= a.made < day]
    elif isinstance(event, CaseClosure):  # the re-referrals after it are now the closing team's
        until = add_months(day, window)
        keys += [f"r:{other.isoformat()}" for other in sorted(state.referrals) if day <= other <= until]
    elif isinstance(event, WrittenAgreement):
        keys.append(f"a:{event.agreement_id}")
    changes: dict[str, Counter[str]] = {}
    for key in keys:
        units = _units(state, key, window)
        before = state.reported.get(key, [])
        if units == before:
            continue
        for team, name in before:
            changes.setdefault(team, Counter())[name] -= 1
        for team, name in units:
            changes.setdefault(team, Counter())[name] += 1
        if units:
            state.reported[key] = units
        else:
            state.reported.pop(key, None)
    facts = []
    for team, counts in sorted(changes.items()):
        nonzero = {name: n for name, n in sorted(counts.items()) if n}
        if nonzero:
            facts.append(TeamFact(team, day, nonzero))
    return facts


def _units(state: ChildState, key: str, window: int) -> list[TeamUnit]:
    """The (team, counter) units one referral or agreement counts in, as the child state now says."""
    kind, subject = key[0], key[2:]
    if kind == "r":
        referral_day = date.fromisoformat(subject)
        referral = state.referrals.get(referral_day)
        if referral is None:
            return []
        month = _month(referral_day)
        team, front, rereferral = attribution(state, referral_day, referral.team, window)
        if not rereferral:
            return sorted([(front, f"{month}:r"), (front, f"{month}:fr")])
        units = [(team, f"{month}:r"), (team, f"{month}:rr"), (front, f"{month}:fr"), (front, f"{month}:frr")]
        return sorted(units)
    agreement = state.agreements.get(subject)
    if agreement is None or agreement.made is None:
        return []
    made = agreement.made
    team = agreement.team or "unknown"
    units = [(team, f"{_month(made)}:a")]
    followed = min((r for r in state.referrals if within_months_after(made, r, window)), default=None)
    if followed is not None:
        units.append((team, f"{_month(made)}:f:{_month(followed)}"))
    return sorted(units)


def attribution(state: ChildState, referral_day: date, front_door: str, window: int) -> tuple[str, str, bool]:
    """(the team a referral counts for, the front door that took it, whether it is a re-referral).

    A re-referral (an earlier referral of the child within `window` months before) counts
    for the team that closed the previous episode, or the front door when no closure in
    between is known; any other referral counts for the front door."""
    previous = max((d for d in state.referrals if within_months_after(d, referral_day, window)), default=None)
    if previous is None:
        return front_door, front_door, False
    return _closing_team(state, previous, referral_day) or front_door, front_door, True


def _closing_team(state: ChildState, previous: date, referral_day: date) -> str | None:
    """The team of the latest case closure from the previous referral to this one (ties by event id)."""
    closures = [(d, c) for d, c in state.closures.items() if previous <= d <= referral_day]
    return max(closures)[1][1] if closures else None


def affected_from(fact: TeamFact) -> date:
    """The first month whose figures this change moves (a follow-up counts from its own month)."""
    months = [name[10:17] if name[8:10] == "f:" else name[:7] for name in fact.counts]
    return _month_start(min(months))


RULE = TeamRule(
    id=RULE_ID,
    params=Params,
    finding="quality assurance should drive improvements in practice (rates over time, beside the national figure)",
    explanation=(
        "{front_door_rereferrals} of the {front_door_referrals} referrals the team received from {period_start} to "
        "{period_end} were re-referrals ({front_door_rate_percent}%). Comparator {comparator_percent}%, upper control "
        "limit {upper_control_limit_percent}% at this number of referrals: {verdict}. Counted for the team that "
        "closed the previous episode: {rereferrals} re-referrals of {referrals} referrals attributed to the team "
        "(the QA report gives a closing team's own rate). Written agreements made in the period: {agreements}, of "
        "which followed by a referral: {agreements_followed}. The DfE notes that high re-referral rates may indicate "
        "cases closed prematurely or interventions that did not succeed."
    ),
    action=(
        "On a change: audit a sample of the re-referred children and the teams that closed their previous episodes "
        "(the QA report's funnel): were cases closed too early, or with written agreements that were not "
        "proportionate or not reviewed? Agree actions with the team managers and QA."
    ),
    evaluate=evaluate,
    judged_through=judged_through,
    due=due,
)
