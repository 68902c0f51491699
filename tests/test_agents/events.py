"""Compact event builders for table-driven rule tests."""

from datetime import UTC, date, datetime

from schemas.events import CaseClosure, CaseEvent, Referral, WrittenAgreement


def at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC).replace(hour=10)


def referral(day: str, *, child: str = "C1", event_id: str | None = None, team: str = "Front Door") -> Referral:
    return Referral(
        event_id=event_id or f"ref-{child}-{day}", child_id=child, occurred_at=at(day), recorded_at=at(day),
        team=team, source="test",
    )  # fmt: skip


def closure(day: str, *, child: str = "C1", reason: str = "RC7", team: str = "CIN East") -> CaseClosure:
    return CaseClosure(
        event_id=f"close-{child}-{day}", child_id=child, occurred_at=at(day), recorded_at=at(day), team=team,
        source="test", reason=reason,
    )  # fmt: skip


def agreement(
    day: str,
    agreement_id: str,
    *,
    action: str = "made",
    child: str = "C1",
    closure: bool = False,
    team: str = "CIN East",
    event_id: str | None = None,
) -> WrittenAgreement:
    return WrittenAgreement(
        event_id=event_id or f"wa-{agreement_id}-{action}-{day}", child_id=child, occurred_at=at(day),
        recorded_at=at(day), team=team, source="test", agreement_id=agreement_id, action=action,  # type: ignore[arg-type]
        accompanies_closure=closure,
    )  # fmt: skip


def in_order(*events: CaseEvent) -> list[CaseEvent]:
    return list(events)
