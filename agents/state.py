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

# One unit a child counts in a team's figures: (team, counter name), the counter named
# "<month>:<what>" with month "YYYY-MM" (see TeamState.counts).
TeamUnit = tuple[str, str]


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class ChildState:
    """Everything the rules keep about one child, bounded by the retention horizon."""

    referrals: dict[date, ReferralRecord] = field(default_factory=dict)
    agreements: dict[str, AgreementRecord] = field(default_factory=dict)
    assessments: dict[str, AssessmentRecord] = field(default_factory=dict)  # by assessment id
    concerns: dict[str, ConcernRecord] = field(default_factory=dict)  # by event id
    enquiries: dict[str, tuple[date, str]] = field(default_factory=dict)  # section 47: id -> (start, event id)
    plans: dict[str, PlanRecord] = field(default_factory=dict)  # by plan id
    strategy_discussions: dict[date, str] = field(default_factory=dict)  # day -> event id
    # closure day -> (event id, team): episodes.py reads the days, the team rates who closed
    closures: dict[date, tuple[str, str]] = field(default_factory=dict)
    contacts: dict[date, str] = field(default_factory=dict)  # contact day -> event id (a follow-up)
    meetings: dict[date, str] = field(default_factory=dict)  # CIN/CP plan start or review day -> event id
    # What this child has told its teams, per referral ("r:<day>") or agreement ("a:<id>"):
    # the (team, counter) units it counts in (see TeamState). A change is sent only when this moves.
    reported: dict[str, list[TeamUnit]] = field(default_factory=dict)
    # alert_id -> (fingerprint of what was last emitted, day the alert is about)
    emitted: dict[str, tuple[str, date]] = field(default_factory=dict)
    latest: date | None = None
    # The first day a time-driven rule may fire for this child; the live timer reads it
    # straight from the stored JSON to skip every child with nothing due.
    due: date | None = None

    def to_dict(self) -> dict[str, Any]:
        # Written once per changed child per batch (the changelog's value): the empty parts,
        # most of a typical child's, are skipped before anything is built for them.
        data: dict[str, Any] = {}
        if self.referrals:
            data["referrals"] = {d.isoformat(): r.to_list() for d, r in sorted(self.referrals.items())}
        if self.agreements:
            data["agreements"] = {k: a.to_dict() for k, a in sorted(self.agreements.items())}
        if self.assessments:
            data["assessments"] = {k: a.to_list() for k, a in sorted(self.assessments.items())}
        if self.concerns:
            data["concerns"] = {k: c.to_list() for k, c in sorted(self.concerns.items())}
        if self.enquiries:
            data["enquiries"] = {k: [d.isoformat(), e] for k, (d, e) in sorted(self.enquiries.items())}
        if self.plans:
            data["plans"] = {k: p.to_list() for k, p in sorted(self.plans.items())}
        if self.strategy_discussions:
            data["strategy_discussions"] = {d.isoformat(): e for d, e in sorted(self.strategy_discussions.items())}
        if self.closures:
            data["closures"] = {d.isoformat(): list(c) for d, c in sorted(self.closures.items())}
        if self.contacts:
            data["contacts"] = {d.isoformat(): e for d, e in sorted(self.contacts.items())}
        if self.meetings:
            data["meetings"] = {d.isoformat(): e for d, e in sorted(self.meetings.items())}
        if self.reported:
            data["reported"] = {k: [list(u) for u in v] for k, v in sorted(self.reported.items())}
        if self.emitted:
            data["emitted"] = {k: [fp, d.isoformat()] for k, (fp, d) in sorted(self.emitted.items())}
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
            closures={date.fromisoformat(d): (c[0], c[1]) for d, c in data.get("closures", {}).items()},
            contacts={date.fromisoformat(d): e for d, e in data.get("contacts", {}).items()},
            meetings={date.fromisoformat(d): e for d, e in data.get("meetings", {}).items()},
            reported={k: [(u[0], u[1]) for u in v] for k, v in data.get("reported", {}).items()},
            emitted={k: (v[0], date.fromisoformat(v[1])) for k, v in data.get("emitted", {}).items()},
            latest=_day(data.get("latest")),
            due=_day(data.get("due")),
        )


@dataclass(slots=True)  # a value, never changed once built
class TeamFact:
    """A change to one team's monthly counters, sent once by the child state that made it.

    `counts` maps counter names to what to add (negative when a referral is re-attributed
    or a flag changes). The live agent stamps each fact with the input message it came
    from (`source` "topic:partition", its `offset`, and its `index` among that message's
    facts), so the team aggregate can drop a fact it has already counted (TeamState.seen);
    replay gives no stamp and each fact is counted once.
    """

    team: str
    day: date  # the day of the event that made the change: the team's event time
    counts: dict[str, int]
    source: str | None = None
    offset: int = -1
    index: int = 0

    def encode(self) -> bytes:
        document: dict[str, Any] = {"team": self.team, "day": self.day.isoformat(), "counts": self.counts}
        if self.source is not None:
            document |= {"source": self.source, "offset": self.offset, "index": self.index}
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: dict[str, Any]) -> "TeamFact":
        counts = data["counts"]
        if not isinstance(counts, dict) or not all(isinstance(v, int) for v in counts.values()):
            raise ValueError("a team fact's counts must map counter names to integers")
        return cls(
            team=data["team"],
            day=date.fromisoformat(data["day"]),
            counts=counts,
            source=data.get("source"),
            offset=int(data.get("offset", -1)),
            index=int(data.get("index", 0)),
        )


@dataclass(slots=True)
class TeamState:
    """One team's monthly counters over the horizon: constant in size per month, whatever the history.

    `counts` holds, per month "YYYY-MM" (of the referral, or of the day an agreement was made):
    `r` referrals attributed to the team and `rr` of them re-referrals (a re-referral is
    attributed to the team that closed the previous episode, any other referral to the
    front door that took it); `fr` and `frr` the same for the referrals the team took at
    its front door; `a` agreements made; `f:<month>` agreements made that month whose first
    following referral came in <month>. Zero counters are left out.

    Why deltas and a high-water mark, not facts per child: the facts per child already
    live in the child state (`ChildState.reported`), which sends a change only when its
    answer changes. Counters are sums, so changes may arrive in any order. A change is sent
    again only when its input message is handled again (a crash before the offset was
    committed): handled again, a message gives the same changes with the same stamp, and
    `seen` (per input partition, the last stamp counted: the input partitions are few, and
    their messages reach a team in offset order) drops them. A team record is therefore a
    few kilobytes, not a list of every referral in the horizon.
    """

    counts: dict[str, int] = field(default_factory=dict)
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> (offset, index) last counted
    emitted: dict[str, tuple[str, date]] = field(default_factory=dict)
    since: date | None = None  # the first month with any fact: no month before it has data
    latest: date | None = None  # the team's event time: the latest event day a fact came from
    evaluated: date | None = None  # first day of the last month the rule has judged
    rejudge: date | None = None  # the first judged month a late fact has changed, to judge again
    due: date | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "months": _month_rows(self.counts),
            "seen": {k: list(v) for k, v in sorted(self.seen.items())},
            "emitted": {k: [fp, d.isoformat()] for k, (fp, d) in sorted(self.emitted.items())},
        }
        data = {k: v for k, v in data.items() if v}
        for name in ("since", "latest", "evaluated", "rejudge", "due"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TeamState":
        if not data:
            return cls()
        return cls(
            counts=_month_counts(data.get("months", {})),
            seen={k: (v[0], v[1]) for k, v in data.get("seen", {}).items()},
            emitted={k: (v[0], date.fromisoformat(v[1])) for k, v in data.get("emitted", {}).items()},
            since=_day(data.get("since")),
            latest=_day(data.get("latest")),
            evaluated=_day(data.get("evaluated")),
            rejudge=_day(data.get("rejudge")),
            due=_day(data.get("due")),
        )


# A team-month's counters on the changelog, in this order, then {months later: agreements
# followed then}: a few dozen bytes a month, where names on every counter took hundreds.
_ROW = ("r", "rr", "fr", "frr", "a")


def _month_rows(counts: dict[str, int]) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {}
    for name, value in sorted(counts.items()):
        month, what = name[:7], name[8:]
        row = rows.setdefault(month, [0, 0, 0, 0, 0, {}])
        if what.startswith("f:"):
            row[5][str(_months_between(month, what[2:]))] = value
        else:
            row[_ROW.index(what)] = value
    for row in rows.values():
        if not row[5]:
            row.pop()
    return rows


def _month_counts(rows: dict[str, list[Any]]) -> dict[str, int]:
    counts = {}
    for month, row in rows.items():
        for what, value in zip(_ROW, row[:5], strict=False):
            if value:
                counts[f"{month}:{what}"] = value
        for later, value in (row[5] if len(row) > 5 else {}).items():
            counts[f"{month}:f:{_months_after(month, int(later))}"] = value
    return counts


def _months_between(first: str, then: str) -> int:
    return (int(then[:4]) - int(first[:4])) * 12 + int(then[5:7]) - int(first[5:7])


def _months_after(month: str, months: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
