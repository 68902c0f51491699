"""Alerts for storage and delivery tests, built through the real Alert contract."""

import hashlib
from datetime import UTC, datetime
from typing import Any

from schemas.alerts import Alert

EXPLANATION = "The child was referred again within 12 months of a written agreement with the family."
ACTION = "Review whether the agreement was proportionate to the risk."


def make_alert(
    key: str,
    *,
    rule: str = "rereferral_after_agreement",
    severity: str = "high",
    child_id: str | None = "C1001",
    team: str = "CIN East",
    day: str = "2024-05-02",
    facts: dict[str, Any] | None = None,
    link: str | None = None,
    delivery: str = "immediate",  # delivery tests are about alerts sent on their own
) -> Alert:
    return Alert.model_validate(
        {
            "alert_id": hashlib.sha256(key.encode()).hexdigest()[:32],
            "rule": rule,
            "severity": severity,
            "delivery": delivery,
            "child_id": child_id,
            "team": team,
            "occurred_at": datetime.fromisoformat(day).replace(tzinfo=UTC),
            "event_ids": [f"lcs:{key}"],
            "facts": {"agreement_id": "wa-1", "referral_date": day, "days_between": 113} if facts is None else facts,
            "explanation": EXPLANATION,
            "action": ACTION,
            "link": link,
        }
    )
