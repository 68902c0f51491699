"""Alerts: what casewatch tells a manager, carrying IDs, dates and codes only."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import ChildId, EventId, Team

ALERT_SCHEMA_VERSION = 1

Severity = Literal["low", "medium", "high"]
# How a finding reaches a manager: its own message the same day, a line in the team's
# weekly worklist, or only the QA report and audit samples (never a per-child message).
DeliveryClass = Literal["immediate", "worklist", "report"]
FactValue = str | int | bool | None


class Alert(BaseModel):
    """One finding about one child (or, for team-level rules, one team), raised by one rule.

    `alert_id` is derived from the rule and the events that triggered it, so a
    redelivered event, a replay, or a second worker produces the same id, never a
    second alert.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    alert_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    rule: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    severity: Severity
    delivery: DeliveryClass = Field(
        "worklist", description="immediate: its own message; worklist: the team's weekly list; report: QA report only."
    )
    child_id: ChildId | None = Field(description="The case system's child ID; null for a team-level alert.")
    team: Team
    occurred_at: datetime = Field(description="Event time of the event that triggered the alert.")
    event_ids: list[EventId] = Field(description="The events that triggered the alert.")
    facts: dict[str, FactValue] = Field(description="Rule-specific dates, counts and codes.")
    explanation: str = Field(description="Why it matters, from the rule (never case text).")
    action: str = Field(description="What the manager should do, from the rule.")
    link: str | None = Field(None, description="Link to the child's record in the case system.")
    ingested_at: datetime | None = Field(
        None, description="When the triggering event reached Kafka (for latency; not part of the finding)."
    )
