"""Plan not SMART.

Finding served (LGA peer review, shared/DOMAIN.md): "child protection plans could be
more outcome-focused and SMART". An outcome with no measure, no owner or no target date
cannot be reviewed against.

One alert per plan event (started or reviewed) whose outcomes include one missing a
measure, an owner or a target date. Only flags travel: the outcomes' wording stays in
the case system. A plan event with no outcomes at all (an extract that does not carry
them) says nothing and is not judged.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from agents.rules.base import EventRule, Finding, RuleParams, codes, setting
from agents.state import ChildState
from schemas.alerts import DeliveryClass
from schemas.events import CaseEvent, Plan, PlanOutcome

RULE_ID = "plan_not_smart"


@dataclass(frozen=True)
class Params(RuleParams):
    delivery: DeliveryClass = setting(
        "report", "how its findings reach a manager: immediate, worklist (weekly) or report (QA report only)"
    )
    plan_types: frozenset[str] = setting(frozenset({"cp", "cin"}), "plan types judged: cp, cin",
                                         choices=frozenset({"cp", "cin"}))  # fmt: skip


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    if not isinstance(event, Plan) or not event.outcomes or event.action == "ended":
        return []
    if event.plan_type not in params.plan_types:
        return []
    no_measure, no_owner, no_date = outcomes_lacking(event.outcomes)
    if not (no_measure or no_owner or no_date):
        return []
    lacking = sorted({*no_measure, *no_owner, *no_date})
    return [
        Finding(
            keys=(event.event_id,),
            team=event.team,
            day=event.day,
            event_ids=(event.event_id,),
            facts={
                "plan_id": event.plan_id,
                "plan_type": event.plan_type.upper(),
                "plan_action": event.action,
                "plan_date": event.day.isoformat(),
                "outcomes": len(event.outcomes),
                "outcomes_not_smart": len(lacking),
                "missing_measure": codes(no_measure),
                "missing_owner": codes(no_owner),
                "missing_target_date": codes(no_date),
            },
        )
    ]


def outcomes_lacking(outcomes: Sequence[PlanOutcome]) -> tuple[list[str], list[str], list[str]]:
    """The outcome ids without a measure, without an owner, and without a target date."""
    no_measure = [o.outcome_id for o in outcomes if not o.has_measure]
    no_owner = [o.outcome_id for o in outcomes if not o.has_owner]
    no_date = [o.outcome_id for o in outcomes if o.target_date is None]
    return no_measure, no_owner, no_date


RULE = EventRule(
    id=RULE_ID,
    params=Params,
    finding="child protection plans could be more outcome-focused and SMART",
    explanation=(
        "{plan_type} plan {plan_id} ({plan_action} {plan_date}) has {outcomes_not_smart} of {outcomes} outcomes "
        "without a measure, an owner or a target date. The peer review found plans that were not outcome-focused "
        "and SMART."
    ),
    action=(
        "Before the next review, give every outcome a measure of success, a named owner and a target date, and "
        "record them in the plan."
    ),
    triggers=frozenset({"plan"}),
    evaluate=evaluate,
)
