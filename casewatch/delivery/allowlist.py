"""What may leave casewatch about an alert: an explicit allow-list, applied before any channel.

Channels never see a stored alert, only the `AlertView` built here from its stored JSON:
the alert fields named in `ALERT_FIELDS` and the facts named in the routing
configuration's `exposed_facts`. Anything else, a field a later schema adds, a fact a rule
puts in by mistake, is dropped here, so no channel can send it (shared/DOMAIN.md: child
IDs, dates, codes and team only).

Labels, for routing, silences and inhibition, are built from the whole alert: they stay
inside casewatch, except the group labels a notification names, which pass the same list.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Alert fields a manager needs to act, and nothing else (no event ids, no ingest times).
ALERT_FIELDS = ("alert_id", "rule", "severity", "child_id", "team", "occurred_at", "explanation", "action", "link")
FactValue = str | int | bool | None


@dataclass(frozen=True)
class AlertView:
    """An alert as channels may show it."""

    alert_id: str
    rule: str
    severity: str
    child_id: str | None  # None for a team-level alert
    team: str
    occurred_at: str
    explanation: str
    action: str
    link: str | None
    facts: tuple[tuple[str, FactValue], ...]

    @property
    def subject(self) -> str:
        """Whom the alert is about, for a line of text: a child, or (team-level rules) the team."""
        return f"child {self.child_id}" if self.child_id else "the team as a whole"

    def as_dict(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in ALERT_FIELDS}
        return fields | {"facts": dict(self.facts)}


def expose(payload: Mapping[str, Any], exposed_facts: Iterable[str]) -> AlertView:
    """The allowed part of a stored alert's JSON; facts keep the rule's order."""
    allowed = set(exposed_facts)
    facts = payload.get("facts") or {}
    return AlertView(
        alert_id=str(payload["alert_id"]),
        rule=str(payload["rule"]),
        severity=str(payload["severity"]),
        child_id=str(payload["child_id"]) if payload.get("child_id") is not None else None,
        team=str(payload["team"]),
        occurred_at=str(payload["occurred_at"]),
        explanation=str(payload.get("explanation", "")),
        action=str(payload.get("action", "")),
        link=str(payload["link"]) if payload.get("link") else None,
        facts=tuple((k, _fact(v)) for k, v in facts.items() if k in allowed),
    )


def expose_labels(labels: Mapping[str, str], exposed_facts: Iterable[str]) -> dict[str, str]:
    """Group labels that may be shown: alert fields and exposed facts only."""
    allowed = set(ALERT_FIELDS) | set(exposed_facts)
    return {k: v for k, v in labels.items() if k in allowed}


def labels_of(payload: Mapping[str, Any]) -> dict[str, str]:
    """Routing labels: every fact as text, then the alert's own fields (which win a clash)."""
    labels = {k: _label(v) for k, v in (payload.get("facts") or {}).items()}
    labels |= {k: str(payload.get(k) or "") for k in ("rule", "severity", "team", "child_id", "delivery")}
    return labels


def parse_payload(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stored alert is a JSON object")
    return value


def _fact(value: Any) -> FactValue:
    return value if isinstance(value, str | int | bool) or value is None else str(value)


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
