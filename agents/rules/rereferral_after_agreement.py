"""Re-referral after a written agreement.

Finding served (LGA peer review, shared/DOMAIN.md): "repeat referrals followed
agreements that were not adhered to". Cases were closed with a written agreement in
place, the family did not keep to it, and the child was referred again.

One alert per referral that comes within the window (default 12 calendar months) after
an agreement was made: the agreement reported is the latest one made before the
referral. A late event that changes which agreement that is, or whether it was
reviewed, updates the same alert (same id) rather than raising another.
"""

from agents.calendar import add_months, within_months_after
from agents.rules.base import Rule, RulesConfig, alert_id, start_of
from agents.state import AgreementRecord, ChildState
from schemas.alerts import Alert, Severity

RULE_ID = "rereferral_after_agreement"

EXPLANATION = (
    "The child was referred again within {window} months of a written agreement with the "
    "family. The peer review found agreements used where they were not proportionate to the "
    "risk, and families not keeping to them, leading to repeat referrals."
)
ACTION = (
    "Review whether the agreement was proportionate to the risk and whether it was kept; "
    "consider a strategy discussion or assessment rather than a new agreement, and record "
    "the outcome in the case record."
)


def evaluate(child_id: str, state: ChildState, config: RulesConfig) -> list[Alert]:
    """Every re-referral-after-agreement alert that this child's state supports."""
    made = sorted(
        (a.made, agreement_id, a)
        for agreement_id, a in state.agreements.items()
        if a.made is not None and a.made_event_id is not None
    )
    if not made:
        return []
    alerts = []
    for referral_day, referral in sorted(state.referrals.items()):
        before = [m for m in made if within_months_after(m[0], referral_day, config.window_months)]
        if not before:
            continue
        made_day, agreement_id, agreement = before[-1]
        look_back = add_months(referral_day, -config.window_months)
        in_window = sum(1 for m in made if look_back <= m[0] < referral_day)
        reviewed = any(r <= referral_day for r in agreement.reviews)
        alerts.append(
            Alert(
                alert_id=alert_id(RULE_ID, child_id, referral_day.isoformat()),
                rule=RULE_ID,
                severity=_severity(agreement, in_window),
                child_id=child_id,
                team=agreement.team or referral.team,
                occurred_at=start_of(referral_day),
                event_ids=[str(agreement.made_event_id), referral.event_id],
                facts={
                    "agreement_id": agreement_id,
                    "agreement_made": made_day.isoformat(),
                    "referral_date": referral_day.isoformat(),
                    "referral_team": referral.team,
                    "days_between": (referral_day - made_day).days,
                    "agreements_in_window": in_window,
                    "agreement_reviewed": reviewed,
                    "accompanied_closure": agreement.accompanies_closure,
                    "window_months": config.window_months,
                },
                explanation=EXPLANATION.format(window=config.window_months),
                action=ACTION,
                link=config.link(child_id),
            )
        )
    return alerts


def _severity(agreement: AgreementRecord, agreements_in_window: int) -> Severity:
    """High for the exact pattern the review found (closed with an agreement), or over-reliance."""
    if agreement.accompanies_closure or agreements_in_window >= 2:
        return "high"
    return "medium"


REREFERRAL_AFTER_AGREEMENT = Rule(
    id=RULE_ID,
    triggers=frozenset({"referral", "agreement"}),
    evaluate=evaluate,
)
