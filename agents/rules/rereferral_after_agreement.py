"""Re-referral after a written agreement.

Finding served (LGA peer review, shared/DOMAIN.md): "repeat referrals followed
agreements that were not adhered to". Cases were closed with a written agreement in
place, the family did not keep to it, and the child was referred again.

One alert per referral that comes within the window (default 12 calendar months) after
an agreement was made: the agreement reported is the latest one made before the
referral. A late event that changes which agreement that is, or whether it was
reviewed, updates the same alert (same id) rather than raising another.
"""

from dataclasses import dataclass
from datetime import date

from agents.calendar import add_months, within_months_after
from agents.rules.base import EventRule, Finding, RuleParams, setting
from agents.state import AgreementRecord, ChildState, ReferralRecord
from schemas.alerts import Severity
from schemas.events import CaseEvent, WrittenAgreement

RULE_ID = "rereferral_after_agreement"


@dataclass(frozen=True)
class Params(RuleParams):
    severity: Severity = setting("medium", "base severity; high when the agreement came with a closure, "
                                 "or two or more agreements were made in the window")  # fmt: skip
    window_months: int = setting(12, "calendar months after an agreement in which a referral counts", minimum=1)


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    """The findings for the referrals this event can affect: its own, or those after its agreement."""
    if not state.agreements or not state.referrals:
        return []
    window = params.window_months
    if isinstance(event, WrittenAgreement):
        made_day = state.agreements[event.agreement_id].made
        if made_day is None:
            return []
        # One month more than the window: the look-back and look-forward clamp month ends differently.
        until = add_months(made_day, window + 1)
        days = [d for d in state.referrals if made_day < d <= until]
    else:
        days = [event.day] if event.day in state.referrals else []
    if not days:
        return []
    made = sorted(
        (a.made, agreement_id, a)
        for agreement_id, a in state.agreements.items()
        if a.made is not None and a.made_event_id is not None
    )
    findings = []
    for referral_day in sorted(days):
        finding = _judge(referral_day, state.referrals[referral_day], made, window)
        if finding is not None:
            findings.append(finding)
    return findings


def _judge(
    referral_day: date, referral: ReferralRecord, made: list[tuple[date, str, AgreementRecord]], window: int
) -> Finding | None:
    before = [m for m in made if within_months_after(m[0], referral_day, window)]
    if not before:
        return None
    made_day, agreement_id, agreement = before[-1]
    look_back = add_months(referral_day, -window)
    in_window = sum(1 for m in made if look_back <= m[0] < referral_day)
    reviewed = any(r <= referral_day for r in agreement.reviews)
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
            "accompanied_closure": agreement.accompanies_closure,
            "window_months": window,
        },
        severity=_escalated(agreement, in_window),
    )


def _escalated(agreement: AgreementRecord, agreements_in_window: int) -> Severity | None:
    """High for the exact pattern the review found (closed with an agreement), or over-reliance."""
    if agreement.accompanies_closure or agreements_in_window >= 2:
        return "high"
    return None


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
    triggers=frozenset({"referral", "agreement"}),
    evaluate=evaluate,
)
