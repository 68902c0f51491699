"""Agreement disproportionate to risk.

Finding served (LGA peer review, shared/DOMAIN.md): "use of agreements must be
proportionate to the risk". An agreement used as the main intervention where the
assessment identified high-risk factors (sexual abuse 19B/19C, child sexual exploitation
11A, physical abuse 18B/18C, FGM 22A, criminal exploitation 24A), or where a section 47
enquiry or a child protection plan was part of the episode, is a warning sign.

The episode is taken as the months before the agreement (default 12): casewatch's events
carry no episode number, and a window needs no referral or closure to arrive first, so
the answer does not depend on the order events arrive in. Evidence only adds up: a late
assessment updates the alert (same id), it never withdraws it.
"""

from dataclasses import dataclass
from datetime import date

from agents.calendar import add_months
from agents.rules.base import EventRule, Finding, RuleParams, codes, setting
from agents.state import AgreementRecord, ChildState
from schemas.alerts import Severity
from schemas.codes import ASSESSMENT_FACTORS
from schemas.events import Assessment, CaseEvent, Plan, Section47Enquiry, WrittenAgreement

RULE_ID = "agreement_disproportionate_to_risk"
HIGH_RISK_FACTORS = frozenset({"19B", "19C", "11A", "18B", "18C", "22A", "24A"})


@dataclass(frozen=True)
class Params(RuleParams):
    severity: Severity = setting("high", "severity of its alerts: low, medium or high")
    lookback_months: int = setting(12, "calendar months before the agreement taken as its episode", minimum=1)
    high_risk_factors: frozenset[str] = setting(
        HIGH_RISK_FACTORS, "assessment factor codes that make an agreement alone disproportionate",
        choices=ASSESSMENT_FACTORS,
    )  # fmt: skip
    section47: bool = setting(True, "a section 47 enquiry started in the episode counts as high risk")
    child_protection_plan: bool = setting(True, "a child protection plan open in the episode counts as high risk")


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    """Findings for the agreements the event can affect: its own, or those made after the evidence."""
    if not state.agreements:
        return []
    if isinstance(event, WrittenAgreement):
        chosen = [event.agreement_id]
    else:
        span = _span(state, event)
        if span is None:
            return []
        # One month more than the look-back: month ends clamp differently each way.
        first, last = span[0], add_months(span[1], params.lookback_months + 1)
        chosen = [k for k, a in state.agreements.items() if a.made is not None and first <= a.made <= last]
    findings = []
    for agreement_id in sorted(chosen):
        agreement = state.agreements[agreement_id]
        if agreement.made is not None and agreement.made_event_id is not None:
            finding = _judge(state, agreement_id, agreement, params)
            if finding is not None:
                findings.append(finding)
    return findings


def _span(state: ChildState, event: CaseEvent) -> tuple[date, date] | None:
    """The days the evidence in this event covers, as the state now holds it."""
    if isinstance(event, Assessment):
        assessment = state.assessments[event.assessment_id]
        return assessment.day, assessment.day
    if isinstance(event, Section47Enquiry):
        started = state.enquiries[event.enquiry_id][0]
        return started, started
    if isinstance(event, Plan) and event.plan_type == "cp":
        plan = state.plans[event.plan_id]
        return plan.first, plan.last
    return None


def _judge(state: ChildState, agreement_id: str, agreement: AgreementRecord, params: Params) -> Finding | None:
    made = agreement.made
    assert made is not None
    start = add_months(made, -params.lookback_months)
    evidence: list[tuple[str, str]] = []  # (day, event id), for the alert's event ids in time order
    factors: set[str] = set()
    for assessment in state.assessments.values():
        found = assessment.factors & params.high_risk_factors
        if found and start <= assessment.day <= made:
            factors |= found
            evidence.append((assessment.day.isoformat(), assessment.event_id))
    enquiry = None
    if params.section47:
        started = sorted(s for s in state.enquiries.values() if start <= s[0] <= made)
        if started:
            enquiry = started[0][0].isoformat()
            evidence += [(d.isoformat(), e) for d, e in started]
    plan = None
    if params.child_protection_plan:
        plans = sorted(
            (p.first, p.event_id)
            for p in state.plans.values()
            if p.plan_type == "cp" and p.first <= made and p.last >= start
        )
        if plans:
            plan = plans[0][0].isoformat()
            evidence += [(d.isoformat(), e) for d, e in plans]
    if not evidence:
        return None
    risk = []
    if factors:
        risk.append(f"assessment factors {codes(factors)}")
    if enquiry:
        risk.append(f"a section 47 enquiry started {enquiry}")
    if plan:
        risk.append(f"a child protection plan from {plan}")
    return Finding(
        keys=(agreement_id,),
        team=agreement.team or "unknown",
        day=made,
        event_ids=(str(agreement.made_event_id), *dict.fromkeys(e for _, e in sorted(evidence))),
        facts={
            "agreement_id": agreement_id,
            "agreement_made": made.isoformat(),
            "high_risk_factors": codes(factors),
            "section47_started": enquiry,
            "cp_plan_from": plan,
            "risk": "; ".join(risk),
            "accompanied_closure": agreement.accompanies_closure,
            "lookback_months": params.lookback_months,
        },
    )


RULE = EventRule(
    id=RULE_ID,
    params=Params,
    finding="use of agreements must be proportionate to the risk",
    explanation=(
        "Written agreement {agreement_id} was made on {agreement_made} although the {lookback_months} months "
        "before it show high risk: {risk}. The peer review found agreements used where they were not "
        "proportionate to the risk."
    ),
    action=(
        "Check with the social worker whether an agreement is a proportionate response to this risk; consider "
        "a strategy discussion, a section 47 enquiry or a child protection conference, and record the decision."
    ),
    triggers=frozenset({"agreement", "assessment", "section47", "plan"}),
    evaluate=evaluate,
)
