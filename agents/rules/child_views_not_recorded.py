"""Child's views not recorded.

Finding served (LGA peer review, shared/DOMAIN.md): "the views of children could be
better recorded". An assessment completed without the child's views recorded.

One alert per assessment reported with child_views_recorded false. A source that does
not say (null) is not judged: unknown is not the same as missing.
"""

from dataclasses import dataclass

from agents.rules.base import EventRule, Finding, RuleParams, setting
from agents.state import ChildState
from schemas.alerts import DeliveryClass, Severity
from schemas.events import Assessment, CaseEvent

RULE_ID = "child_views_not_recorded"


@dataclass(frozen=True)
class Params(RuleParams):
    severity: Severity = setting("low", "severity of its alerts: low, medium or high")
    delivery: DeliveryClass = setting(
        "report", "how its findings reach a manager: immediate, worklist (weekly) or report (QA report only)"
    )


def evaluate(state: ChildState, event: CaseEvent, params: Params) -> list[Finding]:
    if not isinstance(event, Assessment) or event.child_views_recorded is not False:
        return []
    return [
        Finding(
            keys=(event.assessment_id,),
            team=event.team,
            day=event.day,
            event_ids=(event.event_id,),
            facts={"assessment_id": event.assessment_id, "assessment_date": event.day.isoformat()},
        )
    ]


RULE = EventRule(
    id=RULE_ID,
    params=Params,
    finding="the views of children could be better recorded",
    explanation=(
        "Assessment {assessment_id} of {assessment_date} was completed without the child's views recorded. The "
        "peer review found children's views not well recorded."
    ),
    action=(
        "Ask the social worker to see the child, record their wishes and feelings in the assessment, and show how "
        "they shaped the decision."
    ),
    triggers=frozenset({"assessment"}),
    evaluate=evaluate,
)
