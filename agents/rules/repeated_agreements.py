"""Repeated agreements.

Finding served (LGA peer review, shared/DOMAIN.md): "how agreements work in practice
must be reviewed, monitored and evidenced in case records"; several agreements for one
child within 12 months show over-reliance on them.

One alert per agreement that is the Nth or later (default 3) made for the child within
the window (default 12 calendar months, counting back from and including its own day).
More agreements only add to the count, so the answer never depends on arrival order.
"""

from dataclasses import dataclass

from agents.calendar import add_months
from agents.rules.base import EventRule, Finding, RuleParams, setting
from agents.state import ChildState
from schemas.events import CaseEvent, WrittenAgreement

RULE_ID = "repeated_agreements"


@dataclass(frozen=True)
class Params(RuleParams):
    count: int = setting(3, "agreements within the window that make over-reliance", minimum=2)
    window_months: int = setting(12, "calendar months counted back from each agreement", minimum=1)


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    if len(state.agreements) < params.count:
        return []
    made = sorted(
        (a.made, agreement_id, a.made_event_id, a.team)
        for agreement_id, a in state.agreements.items()
        if a.made is not None and a.made_event_id is not None
    )
    if len(made) < params.count or not isinstance(event, WrittenAgreement):
        return []
    # The event's agreement, and those up to a window after it, may have a new count.
    start = state.agreements[event.agreement_id].made
    if start is None:
        return []
    until = add_months(start, params.window_months + 1)
    findings = []
    for day, agreement_id, _, team in made:
        if not start <= day <= until:
            continue
        since = add_months(day, -params.window_months)
        within = [m for m in made if since < m[0] <= day]
        if len(within) < params.count:
            continue
        findings.append(
            Finding(
                keys=(agreement_id,),
                team=team or "unknown",
                day=day,
                event_ids=tuple(str(m[2]) for m in within),
                facts={
                    "agreement_id": agreement_id,
                    "agreement_made": day.isoformat(),
                    "agreements_in_window": len(within),
                    "first_in_window": within[0][0].isoformat(),
                    "window_months": params.window_months,
                },
            )
        )
    return findings


RULE = EventRule(
    id=RULE_ID,
    params=Params,
    finding="several agreements for one child within 12 months (over-reliance)",
    explanation=(
        "Written agreement {agreement_id} made on {agreement_made} brings the child's agreements since "
        "{first_in_window} to {agreements_in_window} (within {window_months} months). The peer review found "
        "over-reliance on written agreements with families."
    ),
    action=(
        "Hold a case discussion: if earlier agreements were not kept, another agreement is unlikely to protect "
        "the child; consider an assessment, a strategy discussion or a plan instead, and record the decision."
    ),
    triggers=frozenset({"agreement"}),
    evaluate=evaluate,
)
