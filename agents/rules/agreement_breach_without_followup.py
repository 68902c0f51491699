"""Agreement breached without follow-up.

Finding served (LGA peer review, shared/DOMAIN.md): "how agreements work in practice
must be reviewed, monitored and evidenced in case records". A recorded breach of an
agreement needs action; a breach followed by nothing is how a child comes back as a
re-referral.

Time-driven: a breach opens a deadline N days later (default 10). If no follow-up is
dated from the breach day to the deadline, the alert is raised on the day after the
deadline. A follow-up is, by default, any of: an assessment (dated by its start where the
source gives it, since the census dates it at authorisation), a strategy discussion, a
section 47 enquiry, a contact or referral, or a CIN/CP meeting (a plan's start or review).

On open cases only: a breach on a case closed by then shows up as a new contact or
referral, which the re-referral rule judges. When no referral is known the case is taken
as open (an agreements extract alone cannot say). The same-day (`immediate`) case.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from agents.episodes import episodes_of
from agents.rules.base import Deadline, Finding, RuleParams, TimeRule, setting
from agents.state import AgreementRecord, ChildState
from schemas.alerts import DeliveryClass, Severity

RULE_ID = "agreement_breach_without_followup"
FOLLOW_UPS = frozenset({"assessment", "strategy_discussion", "section47", "contact", "referral", "plan_meeting"})


@dataclass(frozen=True)
class Params(RuleParams):
    severity: Severity = setting("high", "severity of its alerts: low, medium or high")
    followup_days: int = setting(10, "days after a breach by which a follow-up must be recorded", minimum=0)
    delivery: DeliveryClass = setting(
        "immediate", "how its findings reach a manager: immediate, worklist (weekly) or report (QA report only)"
    )
    followups: frozenset[str] = setting(FOLLOW_UPS, "what counts as a follow-up (plan_meeting: a CIN or CP plan's "
                                        "start or review)", choices=FOLLOW_UPS)  # fmt: skip


def deadlines(state: ChildState, params: Params) -> list[Deadline]:
    if not any(a.breaches for a in state.agreements.values()):
        return []
    followed = _follow_up_days(state, params.followups)
    episodes = episodes_of(state)
    found = []
    for agreement_id, agreement in sorted(state.agreements.items()):
        for breached, event_id in sorted(agreement.breaches.items()):
            if episodes.open_on(breached) is False:
                continue
            deadline = breached + timedelta(days=params.followup_days)
            if any(breached <= d <= deadline for d in followed):
                continue
            keys = (agreement_id, breached.isoformat())
            make = partial(_finding, agreement_id, agreement, breached, event_id, deadline, params)
            found.append(Deadline(deadline + timedelta(days=1), keys, make))
    return found


def _finding(
    agreement_id: str, agreement: AgreementRecord, breached: date, event_id: str, deadline: date, params: Params
) -> Finding:
    return Finding(
        keys=(agreement_id, breached.isoformat()),
        team=agreement.team or "unknown",
        day=deadline + timedelta(days=1),
        event_ids=(event_id,),
        facts={
            "agreement_id": agreement_id,
            "agreement_made": agreement.made.isoformat() if agreement.made else None,
            "breach_date": breached.isoformat(),
            "deadline": deadline.isoformat(),
            "followup_days": params.followup_days,
            "followups": ", ".join(sorted(params.followups)),
        },
    )


def _follow_up_days(state: ChildState, kinds: frozenset[str]) -> list[date]:
    days: list[date] = []
    if "assessment" in kinds:
        days += [a.began for a in state.assessments.values()]
    if "strategy_discussion" in kinds:
        days += state.strategy_discussions
    if "section47" in kinds:
        days += [d for d, _ in state.enquiries.values()]
    if "contact" in kinds:
        days += state.contacts
    if "referral" in kinds:
        days += state.referrals  # every referral, also one on the open case: it is someone acting
    if "plan_meeting" in kinds:
        days += state.meetings
    return days


RULE = TimeRule(
    id=RULE_ID,
    params=Params,
    finding="how agreements work in practice must be reviewed, monitored and evidenced in case records",
    explanation=(
        "Written agreement {agreement_id} was recorded as breached on {breach_date}, and nothing that counts as "
        "a follow-up ({followups}) was recorded by {deadline} ({followup_days} days). The peer review found "
        "agreements not kept, and children referred again."
    ),
    action=(
        "Decide today what the breach means for the child's safety: hold a strategy discussion or start an "
        "assessment if the risk has changed, and record the decision and its reasons."
    ),
    triggers=frozenset(
        {"agreement", "assessment", "strategy_discussion", "section47", "contact", "referral", "plan", "closure"}
    ),
    deadlines=deadlines,
)
