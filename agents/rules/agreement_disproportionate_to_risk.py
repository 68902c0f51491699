"""Agreement disproportionate to risk.

Finding served (LGA peer review, shared/DOMAIN.md): "use of agreements must be
proportionate to the risk". Councils' procedures (Torbay, Salford, Lancashire) sanction
agreements during a section 47 enquiry and within CIN or CP planning; the red flags are
two:

- `instead_of_statutory_response`: the episode's assessments identified high-risk factors
  (sexual abuse 19B/19C, child sexual exploitation 11A, physical abuse 18B/18C, domestic
  abuse 3A-3C, FGM 22A, criminal exploitation 24A) and no section 47 enquiry or child
  protection plan answered them by the day the agreement was made. Same-day (`immediate`).
- `step_down_at_closure`: the agreement was left in place at the case's closure after a
  section 47 enquiry or a child protection plan in the same episode (worklist).

High-risk factors that a section 47 or plan did answer are `sanctioned`: counted in the QA
report only. The episode is the one the agreement was made in (agents/episodes.py); when
the sources carry no referrals, the months before the agreement (default 12) stand in for
it. Only the episode's plans count, and the alert says when a plan ended. Evidence only
adds up: a late assessment or enquiry updates the alert (same id), it never withdraws it.
"""

from dataclasses import dataclass
from datetime import date

from agents.calendar import add_months
from agents.episodes import closure_of, episodes_of
from agents.rules.base import EventRule, Finding, RuleParams, codes, setting
from agents.state import AgreementRecord, ChildState
from schemas.alerts import DeliveryClass, Severity
from schemas.codes import ASSESSMENT_FACTORS
from schemas.events import Assessment, CaseClosure, CaseEvent, Plan, Referral, Section47Enquiry, WrittenAgreement

RULE_ID = "agreement_disproportionate_to_risk"
LOWER: dict[str, Severity] = {"sanctioned": "medium", "outside_the_episode": "low"}  # patterns below the rule's
HIGH_RISK_FACTORS = frozenset({"19B", "19C", "11A", "18B", "18C", "3A", "3B", "3C", "22A", "24A"})


@dataclass(frozen=True)
class Params(RuleParams):
    severity: Severity = setting("high", "severity of its alerts: low, medium or high")
    lookback_months: int = setting(12, "calendar months before the agreement taken as its episode when the "
                                   "sources carry no referrals", minimum=1)  # fmt: skip
    high_risk_factors: frozenset[str] = setting(
        HIGH_RISK_FACTORS, "assessment factor codes that make an agreement alone disproportionate",
        choices=ASSESSMENT_FACTORS,
    )  # fmt: skip
    section47: bool = setting(False, "a section 47 enquiry in the episode is itself evidence of disproportion "
                              "(off: councils sanction agreements during an enquiry)")  # fmt: skip
    child_protection_plan: bool = setting(False, "a child protection plan in the episode is itself evidence of "
                                          "disproportion (off: agreements are part of CP planning)")  # fmt: skip
    no_response_delivery: DeliveryClass = setting(
        "immediate", "delivery class of high-risk factors with no section 47 or child protection plan response"
    )
    sanctioned_delivery: DeliveryClass = setting(
        "report", "delivery class of high-risk factors a section 47 or child protection plan did respond to"
    )


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    """Findings for the agreements the event can affect: its own, or those made after the evidence."""
    if not state.agreements:
        return []
    if isinstance(event, WrittenAgreement):
        chosen = [event.agreement_id]
    elif isinstance(event, CaseClosure | Referral):
        chosen = list(state.agreements)  # an episode's bounds moved: few agreements per child
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


@dataclass(frozen=True)
class _Evidence:
    """What the assessments, enquiries and CP plans from `start` to the agreement's day show."""

    factors: frozenset[str]
    assessed: tuple[tuple[str, str], ...]  # (day, event id) of the assessments that showed them
    enquiries: tuple[tuple[date, str], ...]
    plans: tuple[tuple[date, str, date | None], ...]  # (first, event id, ended)

    @property
    def responded(self) -> bool:
        return bool(self.enquiries or self.plans)


def _evidence(state: ChildState, start: date, made: date, params: Params) -> _Evidence:
    factors: set[str] = set()
    assessed = []
    for assessment in state.assessments.values():
        found = assessment.factors & params.high_risk_factors
        if found and start <= assessment.day <= made:
            factors |= found
            assessed.append((assessment.day.isoformat(), assessment.event_id))
    enquiries = tuple(sorted(s for s in state.enquiries.values() if start <= s[0] <= made))
    plans = tuple(sorted(
        (p.first, p.event_id, p.ended)
        for p in state.plans.values()
        if p.plan_type == "cp" and p.first <= made and p.last >= start
    ))  # fmt: skip
    return _Evidence(frozenset(factors), tuple(assessed), enquiries, plans)


def _judge(state: ChildState, agreement_id: str, agreement: AgreementRecord, params: Params) -> Finding | None:
    made = agreement.made
    assert made is not None
    episodes = episodes_of(state)
    episode = episodes.on(made)
    window = add_months(made, -params.lookback_months)
    start = episode.start if episode is not None else window
    wide, own = _evidence(state, window, made, params), _evidence(state, start, made, params)
    # Whether there is a finding at all only grows as facts arrive (the look-back window, any
    # closure after the agreement), so live and replay raise the same ids whatever order the
    # topics are read in; which pattern it is, from the episode, may change under that id.
    opted = (params.section47 and wide.enquiries) or (params.child_protection_plan and wide.plans)
    closing = agreement.accompanies_closure or any(c >= made for c in state.closures)
    if not (wide.factors or (wide.responded and closing) or opted):
        return None
    closed = closure_of(state, agreement, episodes)
    shown = own
    if own.factors and not own.responded:
        pattern, delivery = "instead_of_statutory_response", params.no_response_delivery
    elif own.responded and closed is not None:
        pattern, delivery = "step_down_at_closure", None
    elif own.factors:
        pattern, delivery = "sanctioned", params.sanctioned_delivery
    elif (params.section47 and own.enquiries) or (params.child_protection_plan and own.plans):
        pattern, delivery = "statutory_response_in_episode", None
    else:  # the evidence is from an earlier episode, or the agreement ended before the closure
        pattern, delivery, shown = "outside_the_episode", "report", wide
    factors, enquiries, plans = set(shown.factors), shown.enquiries, shown.plans
    evidence = list(shown.assessed)
    evidence += [(d.isoformat(), e) for d, e in enquiries]
    evidence += [(d.isoformat(), e) for d, e, _ in plans]
    enquiry = enquiries[0][0].isoformat() if enquiries else None
    plan = plans[0][0].isoformat() if plans else None
    plan_ended = max((p[2] for p in plans if p[2] is not None), default=None)
    risk = []
    if factors:
        risk.append(f"assessment factors {codes(factors)}")
    if enquiry:
        risk.append(f"a section 47 enquiry started {enquiry}")
    if plan:
        ended = f" (ended {plan_ended.isoformat()})" if plan_ended else ""
        risk.append(f"a child protection plan from {plan}{ended}")
    if closed is not None:
        risk.append(f"the agreement left in place at the closure on {closed.isoformat()}")
    return Finding(
        keys=(agreement_id,),
        team=agreement.team or "unknown",
        day=made,
        event_ids=(str(agreement.made_event_id), *dict.fromkeys(e for _, e in sorted(evidence))),
        facts={
            "agreement_id": agreement_id,
            "agreement_made": made.isoformat(),
            "pattern": pattern,
            "high_risk_factors": codes(factors),
            "section47_started": enquiry,
            "cp_plan_from": plan,
            "cp_plan_ended": plan_ended.isoformat() if plan_ended else None,
            "closed_on": closed.isoformat() if closed else None,
            "episode_from": start.isoformat(),
            "risk": "; ".join(risk),
            "accompanied_closure": closed is not None,
        },
        severity=LOWER.get(pattern),
        delivery=delivery,
    )


RULE = EventRule(
    id=RULE_ID,
    params=Params,
    finding="use of agreements must be proportionate to the risk",
    explanation=(
        "Written agreement {agreement_id} was made on {agreement_made} in an episode (from {episode_from}) that "
        "shows {risk} ({pattern}). The peer review found agreements used where they were not proportionate to "
        "the risk."
    ),
    action=(
        "Check with the social worker whether an agreement is a proportionate response to this risk; consider "
        "a strategy discussion, a section 47 enquiry or a child protection conference, and record the decision."
    ),
    triggers=frozenset({"agreement", "assessment", "section47", "plan", "closure", "referral"}),
    evaluate=evaluate,
)
