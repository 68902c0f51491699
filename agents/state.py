"""Per-child state: what the rules remember about one child between events.

The state is a set of facts, not a log: applying the same event twice, or events in
another order, gives the same state. That is what makes redelivery and late events safe.
It round-trips through plain JSON so a Faust table (and its changelog) can hold it.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class AgreementRecord:
    """What is known of one written agreement."""

    made: date | None = None
    made_event_id: str | None = None
    team: str | None = None
    review_due: date | None = None
    accompanies_closure: bool = False
    reviews: set[date] = field(default_factory=set)
    breaches: set[date] = field(default_factory=set)
    ended: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "made": _iso(self.made),
            "made_event_id": self.made_event_id,
            "team": self.team,
            "review_due": _iso(self.review_due),
            "accompanies_closure": self.accompanies_closure,
            "reviews": sorted(d.isoformat() for d in self.reviews),
            "breaches": sorted(d.isoformat() for d in self.breaches),
            "ended": _iso(self.ended),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AgreementRecord":
        return cls(
            made=_day(data.get("made")),
            made_event_id=data.get("made_event_id"),
            team=data.get("team"),
            review_due=_day(data.get("review_due")),
            accompanies_closure=bool(data.get("accompanies_closure", False)),
            reviews={date.fromisoformat(d) for d in data.get("reviews", [])},
            breaches={date.fromisoformat(d) for d in data.get("breaches", [])},
            ended=_day(data.get("ended")),
        )


@dataclass
class ReferralRecord:
    """One referral day of a child (the DfE counts the same child and date once)."""

    event_id: str
    team: str


@dataclass
class ChildState:
    """Everything the rules keep about one child, bounded by the retention horizon."""

    referrals: dict[date, ReferralRecord] = field(default_factory=dict)
    agreements: dict[str, AgreementRecord] = field(default_factory=dict)
    # alert_id -> (fingerprint of what was last emitted, day the alert is about)
    emitted: dict[str, tuple[str, date]] = field(default_factory=dict)
    latest: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "referrals": {d.isoformat(): [r.event_id, r.team] for d, r in sorted(self.referrals.items())},
            "agreements": {k: a.to_dict() for k, a in sorted(self.agreements.items())},
            "emitted": {k: [fp, d.isoformat()] for k, (fp, d) in sorted(self.emitted.items())},
            "latest": _iso(self.latest),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ChildState":
        if not data:
            return cls()
        return cls(
            referrals={
                date.fromisoformat(d): ReferralRecord(event_id=r[0], team=r[1])
                for d, r in data.get("referrals", {}).items()
            },
            agreements={k: AgreementRecord.from_dict(a) for k, a in data.get("agreements", {}).items()},
            emitted={k: (v[0], date.fromisoformat(v[1])) for k, v in data.get("emitted", {}).items()},
            latest=_day(data.get("latest")),
        )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
