"""Sexual-abuse indicator not recorded.

Finding served (LGA peer review, shared/DOMAIN.md): "sexual-abuse risk not explicitly
recognised among risk factors". A contact or referral coded with a sexual-abuse concern
(19B, 19C, 11A, or the pre-2021 19A), or a plan with category SAB or MUL (the statutory
variant: a CIN census or Annex A carries plan categories but no concerns), while the episode's
assessment factors hold none of 19B, 19C, 11A (nor 19A), means the risk reached the
front door but not the assessment.

One alert per assessment with factors that record none of them, when a concern was
raised in the days before it (default 90: the episode), or a SAB plan was open within
that many days either side. The other assessments counted are those of the same window
up to the assessment itself: they come before it on the same topic, so the answer is
the same live and in replay. An assessment with no factors at all says nothing and is
not judged. The contact variant runs only where the sources supply concern codes; the
data-readiness report (agents/readiness.py) says when they do not.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from agents.rules.base import EventRule, Finding, RuleParams, codes, setting
from agents.state import AssessmentRecord, ChildState
from schemas.alerts import Severity
from schemas.codes import ABUSE_CATEGORIES, ASSESSMENT_FACTORS
from schemas.events import Assessment, CaseEvent, Contact, Plan, Referral

RULE_ID = "sexual_abuse_indicator_not_recorded"
SEXUAL_ABUSE_CODES = frozenset({"19A", "19B", "19C", "11A"})


@dataclass(frozen=True)
class Params(RuleParams):
    severity: Severity = setting("high", "severity of its alerts: low, medium or high")
    concern_codes: frozenset[str] = setting(
        SEXUAL_ABUSE_CODES, "contact or referral concern codes that raise a sexual-abuse concern",
        choices=ASSESSMENT_FACTORS,
    )  # fmt: skip
    plan_categories: frozenset[str] = setting(
        frozenset({"SAB", "MUL"}),
        "plan categories of abuse that raise a sexual-abuse concern (MUL: multiple)",
        choices=ABUSE_CATEGORIES,
    )
    recorded_factors: frozenset[str] = setting(
        SEXUAL_ABUSE_CODES, "assessment factors that show the risk was recognised", choices=ASSESSMENT_FACTORS
    )
    window_days: int = setting(90, "days before an assessment (and either side, for plans) taken as its episode",
                               minimum=1)  # fmt: skip


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    window = timedelta(days=params.window_days)
    span = _span(state, event, window, params)
    if span is None:
        return []
    concerns = [(k, c) for k, c in state.concerns.items() if c.codes & params.concern_codes]
    plans = [p for p in state.plans.values() if p.categories & params.plan_categories]
    if not concerns and not plans:
        return []
    findings = []
    for assessment_id, assessment in sorted(state.assessments.items()):
        if not span[0] <= assessment.day <= span[1]:
            continue
        if not assessment.factors or assessment.factors & params.recorded_factors:
            continue
        day = assessment.day
        raised = sorted((c.day, k, c.codes & params.concern_codes) for k, c in concerns if day - window <= c.day <= day)
        planned = sorted(
            (p.first, p.event_id, p.categories & params.plan_categories)
            for p in plans
            if p.first <= day + window and p.last >= day - window
        )
        if not (raised or planned) or _recorded_before(state, assessment, window, params):
            continue
        found = set().union(*(c for _, _, c in raised), *(c for _, _, c in planned))
        first = min([d for d, _, _ in raised] + [d for d, _, _ in planned])
        findings.append(
            Finding(
                keys=(assessment_id,),
                team=assessment.team,
                day=day,
                event_ids=(assessment.event_id, *dict.fromkeys(e for _, e, _ in sorted(raised + planned))),
                facts={
                    "assessment_id": assessment_id,
                    "assessment_date": day.isoformat(),
                    "concerns": codes(found),
                    "first_concern": first.isoformat(),
                    "factors_recorded": codes(assessment.factors),
                    "window_days": params.window_days,
                },
            )
        )
    return findings


def _span(state: ChildState, event: CaseEvent, window: timedelta, params: Params) -> tuple[date, date] | None:
    """The assessment days whose finding this event can change (None: none can)."""
    if isinstance(event, Assessment):
        assessment = state.assessments[event.assessment_id]
        if not assessment.factors or assessment.factors & params.recorded_factors:
            return None
        return assessment.day, assessment.day
    if isinstance(event, Contact | Referral):
        return (event.day, event.day + window) if params.concern_codes.intersection(event.concerns) else None
    if isinstance(event, Plan):
        plan = state.plans[event.plan_id]
        return (plan.first - window, plan.last + window) if plan.categories & params.plan_categories else None
    return None


def _recorded_before(state: ChildState, assessment: AssessmentRecord, window: timedelta, params: Params) -> bool:
    """Whether an assessment in the window up to this one recorded the risk."""
    return any(
        other.factors & params.recorded_factors and assessment.day - window <= other.day <= assessment.day
        for other in state.assessments.values()
    )


RULE = EventRule(
    id=RULE_ID,
    params=Params,
    finding="sexual-abuse risk not explicitly recognised among risk factors",
    explanation=(
        "A sexual-abuse concern ({concerns}, first on {first_concern}) was raised, but assessment {assessment_id} "
        "of {assessment_date} records factors {factors_recorded} and no sexual-abuse or exploitation factor. The "
        "peer review found sexual-abuse risk not explicitly recognised among the risk factors."
    ),
    action=(
        "Review the assessment with the social worker: record the sexual-abuse or exploitation factor if the risk "
        "is there, or record why it was ruled out; consider a strategy discussion."
    ),
    triggers=frozenset({"contact", "referral", "plan", "assessment"}),
    evaluate=evaluate,
)
