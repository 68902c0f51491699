"""Agreement review overdue.

Finding served (LGA peer review, shared/DOMAIN.md): "how agreements work in practice
must be reviewed, monitored and evidenced in case records". An agreement nobody reviews
is one nobody knows is being kept.

Time-driven: each review date (set when the agreement is made, or by a review for the
next one) opens a deadline of that date plus a grace period (default 7 days). If no
review is recorded after the date was set and by the deadline, and the agreement has
not ended, the alert is raised on the day after the deadline. Only facts dated up to
the deadline decide it, so the live timer and replay agree whenever they look.

On open cases only: after closure nobody is allocated, so "ask the allocated worker"
cannot be done. An agreement left in place at a closure (agents/episodes.py: given by the
source, or derived from an agreement still open on its episode's closure day) is instead
one finding about the closure day (raised the day after, once its events are in), "closed
with an agreement nobody will review" (keys: the agreement and "closure") when a review
was still to come (its date plus grace on or after the closure day), and no review
deadline after the closure is raised.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from agents.episodes import closure_of, episodes_of
from agents.rules.base import Deadline, Finding, RuleParams, TimeRule, setting
from agents.state import AgreementRecord, ChildState

RULE_ID = "agreement_review_overdue"


@dataclass(frozen=True)
class Params(RuleParams):
    grace_days: int = setting(7, "days after the review date before a missing review is raised", minimum=0)
    at_closure: bool = setting(True, "raise one finding when a case closes with the agreement still in place and "
                               "a review still to come")  # fmt: skip


def deadlines(state: ChildState, params: Params) -> list[Deadline]:
    if not state.agreements:
        return []
    found = []
    episodes = episodes_of(state)
    for agreement_id, agreement in sorted(state.agreements.items()):
        if agreement.made is None or agreement.made_event_id is None:
            continue
        closed = closure_of(state, agreement, episodes)
        review_dates = _review_dates(agreement)
        grace = timedelta(days=params.grace_days)
        if closed is not None and params.at_closure and any(d + grace >= closed for d in review_dates):
            # a review still to come when the case closed: nobody is left to hold it
            keys = (agreement_id, "closure")
            # due the day after: by then the closure day's own events (a last review) are in
            found.append(Deadline(closed + timedelta(days=1), keys, partial(_closed, agreement_id, agreement, closed)))
        episode = episodes.on(agreement.made)
        case_closed = closed if closed is not None else episode.closed if episode is not None else None
        for review_due, set_on in sorted(review_dates.items()):
            deadline = review_due + timedelta(days=params.grace_days)
            if agreement.ended is not None and agreement.ended <= deadline:
                continue
            if case_closed is not None and case_closed <= deadline:
                continue  # not an open case by the deadline
            if any(set_on < r <= deadline for r in agreement.reviews):
                continue
            found.append(
                Deadline(
                    deadline + timedelta(days=1),
                    (agreement_id, review_due.isoformat()),
                    partial(_finding, agreement_id, agreement, review_due, deadline, params),
                )
            )
    return found


def _review_dates(agreement: AgreementRecord) -> dict[date, date]:
    """Review date -> the latest day it was set on (the agreement's making, or a review)."""
    dates: dict[date, date] = {}
    if agreement.made is not None and agreement.review_due is not None:
        dates[agreement.review_due] = agreement.made
    for reviewed, next_due in agreement.reviews.items():
        if next_due is not None:
            dates[next_due] = max(reviewed, dates.get(next_due, reviewed))
    return dates


def _finding(
    agreement_id: str, agreement: AgreementRecord, review_due: date, deadline: date, params: Params
) -> Finding:
    made = agreement.made
    assert made is not None
    last = max((r for r in agreement.reviews if r <= deadline), default=None)
    return Finding(
        keys=(agreement_id, review_due.isoformat()),
        team=agreement.team or "unknown",
        day=deadline + timedelta(days=1),
        event_ids=(str(agreement.made_event_id),),
        facts={
            "agreement_id": agreement_id,
            "agreement_made": made.isoformat(),
            "review_due": review_due.isoformat(),
            "deadline": deadline.isoformat(),
            "grace_days": params.grace_days,
            "last_review": last.isoformat() if last else None,
            "status": f"was due for review on {review_due.isoformat()} and no review was recorded by "
            f"{deadline.isoformat()} ({params.grace_days} days' grace)",
        },
    )


def _closed(agreement_id: str, agreement: AgreementRecord, closed: date) -> Finding:
    made = agreement.made
    assert made is not None
    last = max((r for r in agreement.reviews if r <= closed), default=None)
    return Finding(
        keys=(agreement_id, "closure"),
        team=agreement.team or "unknown",
        day=closed,
        event_ids=(str(agreement.made_event_id),),
        facts={
            "agreement_id": agreement_id,
            "agreement_made": made.isoformat(),
            "closed_on": closed.isoformat(),
            "last_review": last.isoformat() if last else None,
            "status": f"was left in place when the case closed on {closed.isoformat()}: nobody is allocated "
            "to review it",
        },
    )


RULE = TimeRule(
    id=RULE_ID,
    params=Params,
    finding="how agreements work in practice must be reviewed, monitored and evidenced in case records",
    explanation=(
        "Written agreement {agreement_id} (made {agreement_made}) {status}. The peer review found agreements not "
        "reviewed or monitored, and families not keeping to them."
    ),
    action=(
        "On an open case, ask the allocated worker to review the agreement with the family now and record whether "
        "it is being kept; at a closure, decide who checks it is kept, or whether the case should close with it."
    ),
    triggers=frozenset({"agreement", "closure", "referral"}),
    deadlines=deadlines,
)
