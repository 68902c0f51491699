"""Re-referral after a written agreement.

Finding served (LGA peer review, shared/DOMAIN.md): "repeat referrals followed
agreements that were not adhered to". Cases were closed with a written agreement in
place, the family did not keep to it, and the child was referred again.

One alert per referral that comes within the window (default 12 calendar months) after
an agreement was made: the agreement reported is the latest one made before the
referral. A late event that changes which agreement that is, or whether it was
reviewed, updates the same alert (same id) rather than raising another.

Only referrals that open an episode count (agents/episodes.py): a referral while the
case is still open is a data-quality finding, not a referral. The alert says whether the
referral is also a DfE re-referral (an earlier referral within 12 months). Its severity
comes from the case history (earlier child protection plans, repeated re-referral, more
than one agreement in the window), not from the closure: agreement-at-closure is the
common case. A referral after an agreement left in place at a closure is the same-day
(`immediate`) case: the closure is where the review found the pattern.
"""

from dataclasses import dataclass
from datetime import date

from agents.calendar import add_months, within_months_after
from agents.episodes import Episodes, closure_of, episodes_of
from agents.rules.base import EventRule, Finding, RuleParams, setting
from agents.state import AgreementRecord, ChildState, ReferralRecord
from schemas.alerts import DeliveryClass, Severity
from schemas.events import CaseEvent, Plan, WrittenAgreement

RULE_ID = "rereferral_after_agreement"


@dataclass(frozen=True)
class Params(RuleParams):
    severity: Severity = setting(
        "medium",
        "base severity; high with an earlier child protection plan, a third referral in 12 months, "
        "or two or more agreements in the window",
    )
    window_months: int = setting(12, "calendar months after an agreement in which a referral counts", minimum=1)
    at_closure_delivery: DeliveryClass = setting(
        "immediate", "delivery class when the agreement was left in place at a case closure"
    )


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    """The findings for the referrals this event can affect: its own, or those after its agreement."""
    if not state.agreements or not state.referrals:
        return []
    window = params.window_months
    episodes = episodes_of(state)
    referrals = episodes.referrals()
    if isinstance(event, WrittenAgreement):
        made_day = state.agreements[event.agreement_id].made
        if made_day is None:
            return []
        # One month more than the window: the look-back and look-forward clamp month ends differently.
        until = add_months(made_day, window + 1)
        days = [d for d in referrals if made_day < d <= until]
    else:
        # A closure or referral moves episodes, and a referral or plan is history for those after it.
        since = state.plans[event.plan_id].first if isinstance(event, Plan) else event.day
        days = [d for d in referrals if d >= since]
    if not days:
        return []
    made = sorted(
        (a.made, agreement_id, a)
        for agreement_id, a in state.agreements.items()
        if a.made is not None and a.made_event_id is not None
    )
    findings = []
    for referral_day in sorted(days):
        finding = _judge(state, episodes, referral_day, referrals, made, params)
        if finding is not None:
            findings.append(finding)
    return findings


def _judge(
    state: ChildState,
    episodes: Episodes,
    referral_day: date,
    referrals: dict[date, ReferralRecord],
    made: list[tuple[date, str, AgreementRecord]],
    params: Params,
) -> Finding | None:
    window = params.window_months
    before = [m for m in made if within_months_after(m[0], referral_day, window)]
    if not before:
        return None
    made_day, agreement_id, agreement = before[-1]
    referral = referrals[referral_day]
    look_back = add_months(referral_day, -window)
    in_window = sum(1 for m in made if look_back <= m[0] < referral_day)
    reviewed = any(r <= referral_day for r in agreement.reviews)
    closed = closure_of(state, agreement, episodes)
    at_closure = closed is not None and closed <= referral_day
    earlier = [d for d in referrals if within_months_after(d, referral_day, 12)]  # DfE: 12 calendar months
    referred_last_12 = max(len(earlier), referral.last_12_months or 0)
    previous_cp = _previous_cp_plans(state, referral_day)
    return Finding(
        keys=(referral_day.isoformat(),),
        team=agreement.team or referral.team,
        day=referral_day,
        event_ids=(str(agreement.made_event_id), referral.event_id),
        facts={
            "agreement_id": agreement_id,
            "agreement_made": made_day.isoformat(),
            "referral_date": referral_day.isoformat(),
            "referral_team": referral.team,
            "days_between": (referral_day - made_day).days,
            "agreements_in_window": in_window,
            "agreement_reviewed": reviewed,
            "accompanied_closure": at_closure,
            "closed_on": closed.isoformat() if at_closure and closed is not None else None,
            "is_dfe_rereferral": referred_last_12 > 0,
            "referrals_last_12_months": referred_last_12,
            "previous_cp_plans": previous_cp,
            "window_months": window,
        },
        severity="high" if previous_cp > 0 or referred_last_12 >= 2 or in_window >= 2 else None,
        delivery=params.at_closure_delivery if at_closure else None,
    )


def _previous_cp_plans(state: ChildState, day: date) -> int:
    """Child protection plans before `day`: those the state holds, or more where a source counted them."""
    held = sum(1 for p in state.plans.values() if p.plan_type == "cp" and p.first < day)
    counted = max((p.previous_plans or 0 for p in state.plans.values() if p.first <= day), default=0)
    return max(held, counted)


RULE = EventRule(
    id=RULE_ID,
    params=Params,
    finding="repeat referrals followed agreements that were not adhered to",
    explanation=(
        "The child was referred again on {referral_date}, {days_between} days after written agreement "
        "{agreement_id} was made on {agreement_made} (within {window_months} months). The peer review found "
        "agreements used where they were not proportionate to the risk, and families not keeping to them, "
        "leading to repeat referrals."
    ),
    action=(
        "Review whether the agreement was proportionate to the risk and whether it was kept; consider a "
        "strategy discussion or assessment rather than a new agreement, and record the outcome in the case record."
    ),
    triggers=frozenset({"referral", "agreement", "closure", "plan"}),
    evaluate=evaluate,
)
