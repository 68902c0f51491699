"""Team re-referral rate high.

Finding served (LGA peer review, shared/DOMAIN.md): "quality assurance should drive
improvements in practice": the re-referral rate, and the rate of agreements followed by
re-referral, per team and per month, beside the national figure. The DfE notes that high
re-referral levels may indicate cases closed prematurely or interventions that did not
succeed.

The rate is the DfE's: of a team's referrals in the 12 months to the end of a month, the
share that came within 12 calendar months of an earlier referral of the same child (the
same child and day once). One alert per team and month whose rate is above the threshold
(default the national 22.6%, year to March 2025) on enough referrals to mean something.

A month is judged once, a few days after it ends (settle_days, for late recording), and
only once the team's facts cover a whole period; it is never judged again, so live and
replay raise the same alerts. The child engine sends the facts (`facts_after`); each is
the current answer for one referral or agreement, so the aggregate can take it twice.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from agents.calendar import add_months, within_months_after
from agents.rules.base import Finding, RuleParams, TeamRule, setting
from agents.state import ChildState, TeamFact, TeamState
from schemas.alerts import DeliveryClass
from schemas.events import CaseEvent, Referral, WrittenAgreement

RULE_ID = "team_rereferral_rate_high"
NATIONAL_RATE = 0.226  # 142,900 of 632,830 referrals in England, year to March 2025


@dataclass(frozen=True)
class Params(RuleParams):
    delivery: DeliveryClass = setting("report", "how its findings reach a manager: immediate, worklist (weekly) "
                                      "or report (QA report only)")  # fmt: skip
    threshold: float = setting(NATIONAL_RATE, "re-referral rate above which a team's month is raised (0.226 = "
                               "22.6%)", minimum=0.0, maximum=1.0)  # fmt: skip
    min_referrals: int = setting(20, "fewest referrals in the period for a rate to be judged", minimum=1)
    period_months: int = setting(12, "months in the rolling period", minimum=1)
    rereferral_months: int = setting(12, "DfE re-referral window, and the window for an agreement to count as "
                                     "followed by a referral", minimum=1)  # fmt: skip
    settle_days: int = setting(7, "days after a month ends before it is judged (late recording)", minimum=0)


@dataclass(frozen=True)
class Rates:
    """A team's figures for one period (first and last day included)."""

    first: date
    last: date
    referrals: int
    rereferrals: int
    agreements: int
    followed: int

    @property
    def rereferral_rate(self) -> float | None:
        return self.rereferrals / self.referrals if self.referrals else None

    @property
    def agreement_rate(self) -> float | None:
        return self.followed / self.agreements if self.agreements else None


def rates(state: TeamState, first: date, last: date) -> Rates:
    """The team's re-referral and agreement-followed-by-referral rates over [first, last]."""
    flags = [flag for (_, day), flag in state.referrals.items() if first <= day <= last]
    made = [followed for made, followed in state.agreements.values() if first <= made <= last]
    return Rates(
        first=first,
        last=last,
        referrals=len(flags),
        rereferrals=sum(flags),
        agreements=len(made),
        followed=sum(1 for f in made if f is not None and f <= last),
    )


def rolling(state: TeamState, today: date, params: Params) -> Rates:
    """The period of `period_months` ending today, for the live gauges."""
    return rates(state, add_months(today, -params.period_months) + timedelta(days=1), today)


def evaluate(team: str, state: TeamState, today: date, params: Params) -> list[Finding]:
    month = _first_unjudged(state, params)
    last = judged_through(today, params)
    findings = []
    while month is not None and month <= last:
        figures = rates(state, add_months(month, 1 - params.period_months), _month_end(month))
        rate = figures.rereferral_rate
        if figures.referrals >= params.min_referrals and rate is not None and rate > params.threshold:
            findings.append(_finding(team, month, figures, params))
        month = add_months(month, 1)
    return findings


def judged_through(today: date, params: Params) -> date:
    """The first day of the last month that is over, settle days included, by `today`."""
    month = today.replace(day=1)
    while add_months(month, 1) + timedelta(days=params.settle_days) > today:
        month = add_months(month, -1)
    return month


def due(state: TeamState, params: Params) -> date | None:
    month = _first_unjudged(state, params)
    return None if month is None else add_months(month, 1) + timedelta(days=params.settle_days)


def _first_unjudged(state: TeamState, params: Params) -> date | None:
    """The first month whose whole period lies after the team's first fact, and not yet judged."""
    if state.since is None:
        return None
    month = add_months(state.since.replace(day=1), params.period_months - 1)
    if state.evaluated is not None:
        month = max(month, add_months(state.evaluated, 1))
    return month


def _month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def _percent(rate: float | None) -> str | None:
    return None if rate is None else f"{100 * rate:.1f}"


def _finding(team: str, month: date, figures: Rates, params: Params) -> Finding:
    return Finding(
        keys=(month.isoformat()[:7],),
        team=team,
        day=figures.last,
        event_ids=(),
        facts={
            "month": month.isoformat()[:7],
            "period_start": figures.first.isoformat(),
            "period_end": figures.last.isoformat(),
            "referrals": figures.referrals,
            "rereferrals": figures.rereferrals,
            "rereferral_rate_percent": _percent(figures.rereferral_rate),
            "threshold_percent": _percent(params.threshold),
            "agreements": figures.agreements,
            "agreements_followed": figures.followed,
            "agreement_followed_rate_percent": _percent(figures.agreement_rate),
        },
    )


def facts_after(child_id: str, state: ChildState, event: CaseEvent, params: Params) -> list[TeamFact]:
    """The team facts an event may have changed: its referral and those it can make re-referrals,
    or the agreements before it that it follows; or the agreement itself."""
    window = params.rereferral_months
    if isinstance(event, Referral):
        day = event.day
        until = add_months(day, window)
        facts = [
            _referral_fact(child_id, state, other, window) for other in sorted(state.referrals) if day <= other <= until
        ]
        since = add_months(day, -window)
        for agreement_id, agreement in sorted(state.agreements.items()):
            if agreement.made is not None and since <= agreement.made < day:
                facts.append(_agreement_fact(child_id, state, agreement_id, window))
        return facts
    if isinstance(event, WrittenAgreement) and state.agreements[event.agreement_id].made is not None:
        return [_agreement_fact(child_id, state, event.agreement_id, window)]
    return []


def _referral_fact(child_id: str, state: ChildState, day: date, window: int) -> TeamFact:
    rereferral = any(within_months_after(earlier, day, window) for earlier in state.referrals)
    team = state.referrals[day].team
    return TeamFact(team, child_id, "referral", day.isoformat(), day, rereferral=rereferral)


def _agreement_fact(child_id: str, state: ChildState, agreement_id: str, window: int) -> TeamFact:
    agreement = state.agreements[agreement_id]
    made = agreement.made
    assert made is not None
    followed = min((r for r in state.referrals if within_months_after(made, r, window)), default=None)
    return TeamFact(agreement.team or "unknown", child_id, "agreement", agreement_id, made, followed=followed)


RULE = TeamRule(
    id=RULE_ID,
    params=Params,
    finding="quality assurance should drive improvements in practice (rates over time, beside the national figure)",
    explanation=(
        "{rereferrals} of the team's {referrals} referrals from {period_start} to {period_end} were re-referrals "
        "({rereferral_rate_percent}%), above the threshold of {threshold_percent}%. Written agreements made in the "
        "period: {agreements}, of which followed by a referral: {agreements_followed}. The DfE notes that high "
        "re-referral rates may indicate cases closed prematurely or interventions that did not succeed."
    ),
    action=(
        "Audit a sample of the team's re-referred cases: were cases closed too early, or with written agreements "
        "that were not proportionate or not reviewed? Agree actions with the team manager and QA."
    ),
    evaluate=evaluate,
    judged_through=judged_through,
    due=due,
)
