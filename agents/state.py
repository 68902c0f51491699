"""What the rules remember between events: per child, and per team.

A state is a set of facts, not a log: applying the same event twice, or events in
another order, gives the same state. That is what makes redelivery and late events safe.
It round-trips through compact plain JSON so a Faust table (and its changelog) can hold
it; empty parts are left out, so a typical child stays well under 2 KB.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal


@dataclass
class AgreementRecord:
    """What is known of one written agreement."""

    made: date | None = None
    made_event_id: str | None = None
    team: str | None = None
    review_due: date | None = None
    accompanies_closure: bool = False
    # review day -> the next review date that review set (None when it set none)
    reviews: dict[date, date | None] = field(default_factory=dict)
    breaches: dict[date, str] = field(default_factory=dict)  # breach day -> event id
    ended: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "made": _iso(self.made),
            "made_event_id": self.made_event_id,
            "team": self.team,
            "review_due": _iso(self.review_due),
            "accompanies_closure": self.accompanies_closure,
            "reviews": {d.isoformat(): _iso(n) for d, n in sorted(self.reviews.items())},
            "breaches": {d.isoformat(): e for d, e in sorted(self.breaches.items())},
            "ended": _iso(self.ended),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AgreementRecord":
        reviews = data.get("reviews") or {}
        breaches = data.get("breaches") or {}
        if isinstance(reviews, list):  # the walking skeleton kept review days only
            reviews = dict.fromkeys(reviews)
        if isinstance(breaches, list):
            breaches = dict.fromkeys(breaches, data.get("made_event_id") or "unknown")
        return cls(
            made=_day(data.get("made")),
            made_event_id=data.get("made_event_id"),
            team=data.get("team"),
            review_due=_day(data.get("review_due")),
            accompanies_closure=bool(data.get("accompanies_closure", False)),
            reviews={date.fromisoformat(d): _day(n) for d, n in reviews.items()},
            breaches={date.fromisoformat(d): e for d, e in breaches.items()},
            ended=_day(data.get("ended")),
        )

    def days(self) -> list[date]:
        """Every day this record knows of (for pruning)."""
        days = [*self.reviews, *self.breaches]
        return days + [d for d in (self.made, self.ended) if d is not None]


@dataclass
class ReferralRecord:
    """One referral day of a child (the DfE counts the same child and date once)."""

    event_id: str
    team: str
    last_12_months: int | None = None  # referrals in the 12 months before, where the source says

    def to_list(self) -> list[Any]:
        data: list[Any] = [self.event_id, self.team]
        return data if self.last_12_months is None else [*data, self.last_12_months]

    @classmethod
    def from_list(cls, data: list[Any]) -> "ReferralRecord":
        return cls(data[0], data[1], data[2] if len(data) > 2 else None)


@dataclass
class AssessmentRecord:
    """One assessment: when, by which team, and the factors it identified (CIN codes)."""

    day: date
    event_id: str
    team: str
    factors: frozenset[str]
    started: date | None = None  # its actual start, where the source gives it (the day is authorisation)

    @property
    def began(self) -> date:
        """The day work on it began: the start where known, else the day it is dated."""
        return self.started if self.started is not None else self.day

    def to_list(self) -> list[Any]:
        data: list[Any] = [self.day.isoformat(), self.event_id, self.team, sorted(self.factors)]
        return data if self.started is None else [*data, self.started.isoformat()]

    @classmethod
    def from_list(cls, data: list[Any]) -> "AssessmentRecord":
        started = date.fromisoformat(data[4]) if len(data) > 4 else None
        return cls(date.fromisoformat(data[0]), data[1], data[2], frozenset(data[3]), started)


@dataclass
class ConcernRecord:
    """Concern codes a contact or referral carried (only kept when there are any)."""

    day: date
    kind: Literal["contact", "referral"]
    codes: frozenset[str]

    def to_list(self) -> list[Any]:
        return [self.day.isoformat(), self.kind, sorted(self.codes)]

    @classmethod
    def from_list(cls, data: list[Any]) -> "ConcernRecord":
        return cls(date.fromisoformat(data[0]), data[1], frozenset(data[2]))


@dataclass
class PlanRecord:
    """A plan, as the span of days its events show it open, and every category it had."""

    plan_type: Literal["cp", "cin"]
    first: date
    last: date
    event_id: str  # of the first event seen
    team: str
    categories: frozenset[str]
    ended: date | None = None  # the day an "ended" event gave, if any
    previous_plans: int | None = None  # earlier CP plans of the child, where the source says

    def to_list(self) -> list[Any]:
        data: list[Any] = [self.plan_type, self.first.isoformat(), self.last.isoformat(), self.event_id, self.team,
                           sorted(self.categories)]  # fmt: skip
        if self.ended is not None or self.previous_plans is not None:
            data += [_iso(self.ended), self.previous_plans]
        return data

    @classmethod
    def from_list(cls, data: list[Any]) -> "PlanRecord":
        extra = data[6:8] if len(data) > 6 else [None, None]
        return cls(data[0], date.fromisoformat(data[1]), date.fromisoformat(data[2]), data[3], data[4],
                   frozenset(data[5]), _day(extra[0]), extra[1])  # fmt: skip


@dataclass
class ChildState:
    """Everything the rules keep about one child, bounded by the retention horizon."""

    referrals: dict[date, ReferralRecord] = field(default_factory=dict)
    agreements: dict[str, AgreementRecord] = field(default_factory=dict)
    assessments: dict[str, AssessmentRecord] = field(default_factory=dict)  # by assessment id
    concerns: dict[str, ConcernRecord] = field(default_factory=dict)  # by event id
    enquiries: dict[str, tuple[date, str]] = field(default_factory=dict)  # section 47: id -> (start, event id)
    plans: dict[str, PlanRecord] = field(default_factory=dict)  # by plan id
    strategy_discussions: dict[date, str] = field(default_factory=dict)  # day -> event id
    closures: dict[date, str] = field(default_factory=dict)  # closure day -> event id (episodes.py reads them)
    contacts: dict[date, str] = field(default_factory=dict)  # contact day -> event id (a follow-up)
    meetings: dict[date, str] = field(default_factory=dict)  # CIN/CP plan start or review day -> event id
    # alert_id -> (fingerprint of what was last emitted, day the alert is about)
    emitted: dict[str, tuple[str, date]] = field(default_factory=dict)
    latest: date | None = None
    # The first day a time-driven rule may fire for this child; the live timer reads it
    # straight from the stored JSON to skip every child with nothing due.
    due: date | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "referrals": {d.isoformat(): r.to_list() for d, r in sorted(self.referrals.items())},
            "agreements": {k: a.to_dict() for k, a in sorted(self.agreements.items())},
            "assessments": {k: a.to_list() for k, a in sorted(self.assessments.items())},
            "concerns": {k: c.to_list() for k, c in sorted(self.concerns.items())},
            "enquiries": {k: [d.isoformat(), e] for k, (d, e) in sorted(self.enquiries.items())},
            "plans": {k: p.to_list() for k, p in sorted(self.plans.items())},
            "strategy_discussions": {d.isoformat(): e for d, e in sorted(self.strategy_discussions.items())},
            "closures": {d.isoformat(): e for d, e in sorted(self.closures.items())},
            "contacts": {d.isoformat(): e for d, e in sorted(self.contacts.items())},
            "meetings": {d.isoformat(): e for d, e in sorted(self.meetings.items())},
            "emitted": {k: [fp, d.isoformat()] for k, (fp, d) in sorted(self.emitted.items())},
        }
        data = {k: v for k, v in data.items() if v}
        data["latest"] = _iso(self.latest)
        if self.due is not None:
            data["due"] = self.due.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ChildState":
        if not data:
            return cls()
        return cls(
            referrals={
                date.fromisoformat(d): ReferralRecord.from_list(r) for d, r in data.get("referrals", {}).items()
            },
            agreements={k: AgreementRecord.from_dict(a) for k, a in data.get("agreements", {}).items()},
            assessments={k: AssessmentRecord.from_list(a) for k, a in data.get("assessments", {}).items()},
            concerns={k: ConcernRecord.from_list(c) for k, c in data.get("concerns", {}).items()},
            enquiries={k: (date.fromisoformat(v[0]), v[1]) for k, v in data.get("enquiries", {}).items()},
            plans={k: PlanRecord.from_list(p) for k, p in data.get("plans", {}).items()},
            strategy_discussions={date.fromisoformat(d): e for d, e in data.get("strategy_discussions", {}).items()},
            closures={date.fromisoformat(d): e for d, e in data.get("closures", {}).items()},
            contacts={date.fromisoformat(d): e for d, e in data.get("contacts", {}).items()},
            meetings={date.fromisoformat(d): e for d, e in data.get("meetings", {}).items()},
            emitted={k: (v[0], date.fromisoformat(v[1])) for k, v in data.get("emitted", {}).items()},
            latest=_day(data.get("latest")),
            due=_day(data.get("due")),
        )


@dataclass(slots=True)  # a value, never changed once built (not frozen: it is built per referral)
class TeamFact:
    """What one child's state says about one referral or agreement, for its team's rates.

    A fact is the current answer, not a change: sent again it changes nothing, so the team
    aggregate can take it at least once. Its flags only ever move one way (a referral
    becomes a re-referral when an earlier one turns up; an agreement's first following
    referral can only get earlier), so facts may also arrive in any order.
    """

    team: str
    child_id: str
    kind: Literal["referral", "agreement"]
    key: str  # the referral day (ISO) or the agreement id
    day: date  # the referral day or the day the agreement was made
    rereferral: bool = False
    followed: date | None = None  # first referral after the agreement, within the window

    def encode(self) -> bytes:
        return json.dumps(
            {"team": self.team, "child_id": self.child_id, "kind": self.kind, "key": self.key,
             "day": self.day.isoformat(), "rereferral": self.rereferral, "followed": _iso(self.followed)}
        ).encode()  # fmt: skip

    @classmethod
    def decode(cls, data: dict[str, Any]) -> "TeamFact":
        return cls(
            team=data["team"],
            child_id=data["child_id"],
            kind=data["kind"],
            key=data["key"],
            day=date.fromisoformat(data["day"]),
            rereferral=bool(data["rereferral"]),
            followed=_day(data["followed"]),
        )


@dataclass
class TeamState:
    """One team's referrals and agreements over the horizon, for its rolling rates."""

    referrals: dict[tuple[str, date], bool] = field(default_factory=dict)  # (child, day) -> re-referral
    # (child, agreement id) -> (day made, first referral after it within the window)
    agreements: dict[tuple[str, str], tuple[date, date | None]] = field(default_factory=dict)
    emitted: dict[str, tuple[str, date]] = field(default_factory=dict)
    since: date | None = None  # the earliest fact ever seen: no month before it has data
    latest: date | None = None
    evaluated: date | None = None  # first day of the last month the rule has judged
    due: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "referrals": {f"{c}|{d.isoformat()}": int(flag) for (c, d), flag in sorted(self.referrals.items())},
            "agreements": {f"{c}|{a}": [m.isoformat(), _iso(f)] for (c, a), (m, f) in sorted(self.agreements.items())},
            "emitted": {k: [fp, d.isoformat()] for k, (fp, d) in sorted(self.emitted.items())},
            "since": _iso(self.since),
            "latest": _iso(self.latest),
            "evaluated": _iso(self.evaluated),
            "due": _iso(self.due),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TeamState":
        if not data:
            return cls()
        referrals = {}
        for key, flag in data.get("referrals", {}).items():
            child, day = key.split("|", 1)
            referrals[(child, date.fromisoformat(day))] = bool(flag)
        agreements = {}
        for key, (made, followed) in data.get("agreements", {}).items():
            child, agreement = key.split("|", 1)
            agreements[(child, agreement)] = (date.fromisoformat(made), _day(followed))
        return cls(
            referrals=referrals,
            agreements=agreements,
            emitted={k: (v[0], date.fromisoformat(v[1])) for k, v in data.get("emitted", {}).items()},
            since=_day(data.get("since")),
            latest=_day(data.get("latest")),
            evaluated=_day(data.get("evaluated")),
            due=_day(data.get("due")),
        )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
