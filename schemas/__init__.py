"""Wire contracts of casewatch: the case events it takes in and the alerts it raises.

This package imports nothing else of casewatch, so case-system integrators can read it
(and the JSON Schema files exported beside it) on its own.
"""

from schemas.alerts import ALERT_SCHEMA_VERSION, Alert
from schemas.events import (
    EVENT_SCHEMA_VERSION,
    Assessment,
    CaseClosure,
    CaseEvent,
    Contact,
    EventBase,
    Plan,
    PlanOutcome,
    Referral,
    Section47Enquiry,
    StrategyDiscussion,
    WrittenAgreement,
    parse_event,
)

__all__ = [
    "ALERT_SCHEMA_VERSION",
    "EVENT_SCHEMA_VERSION",
    "Alert",
    "Assessment",
    "CaseClosure",
    "CaseEvent",
    "Contact",
    "EventBase",
    "Plan",
    "PlanOutcome",
    "Referral",
    "Section47Enquiry",
    "StrategyDiscussion",
    "WrittenAgreement",
    "parse_event",
]
