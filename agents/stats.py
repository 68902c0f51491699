"""Re-referral figures in the DfE's terms, as a pure function of the events.

A referral R2 is a re-referral when an earlier referral R1 of the same child has
R1 < R2 <= R1 + 12 calendar months; the same child and date count once (shared/DOMAIN.md).
A referral whose source says the child had referrals in the 12 months before (Annex A
List 3 "Number of Referrals in Last 12 Months" > 0) is a re-referral too, even when that
earlier referral is not in the data. The window is the DfE's, not the alert rule's
configurable one: the figure is compared with the national rate, so it must be computed
the same way.

A rate means something only with its period: figures are given per reporting year
(1 April to 31 March) and for the rolling 12 months to the as-of day, never for several
years together. Each says whether the data covers the period to its end and the 12 months
before it (without them, re-referrals early in the period are undercounted), and counts
NFA referrals (CIN census ReferralNFA, Annex A "Referral NFA?") apart from the others.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, Literal, NamedTuple

from agents.calendar import add_months, within_months_after
from schemas.events import CaseEvent, Referral

DFE_WINDOW_MONTHS = 12
REPORTING_YEAR_STARTS = 4  # April

PeriodKind = Literal["reporting_year", "rolling_12_months"]


@dataclass
class _ReferralFacts:
    """What the events say about one (child, day) referral."""

    nfa: bool | None = None
    earlier_in_12_months: bool = False


@dataclass(frozen=True)
class Counts:
    referrals: int = 0
    re_referrals: int = 0

    @property
    def rate(self) -> float:
        return round(self.re_referrals / self.referrals, 4) if self.referrals else 0.0

    def to_dict(self) -> dict[str, int | float]:
        return {"referrals": self.referrals, "re_referrals": self.re_referrals, "re_referral_rate": self.rate}


@dataclass(frozen=True)
class PeriodStats:
    """One period's figures: a reporting year, or the 12 months to the as-of day."""

    kind: PeriodKind
    name: str  # "2024-25" or "12 months to 2025-01-31"
    first: date
    last: date
    complete: bool  # the as-of day is on or after the period's last day
    lookback_complete: bool  # the data starts at least 12 months before the period
    total: Counts
    from_history_only: int  # re-referrals known only from a source's "referrals in the last 12 months"
    by_nfa: dict[str, Counts] = field(default_factory=dict)  # "nfa", "not_nfa", "not_given"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "period": self.name,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "complete": self.complete,
            "lookback_complete": self.lookback_complete,
            **self.total.to_dict(),
            "re_referrals_from_source_history": self.from_history_only,
            "by_nfa": {key: counts.to_dict() for key, counts in self.by_nfa.items()},
        }


@dataclass(frozen=True)
class ReferralStats:
    children: int  # distinct children with any event
    referrals: int  # distinct (child, referral date), every date in the data together
    re_referrals: int
    periods: tuple[PeriodStats, ...] = ()
    as_of: date | None = None

    @property
    def re_referral_rate(self) -> float:
        return round(self.re_referrals / self.referrals, 4) if self.referrals else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "children": self.children,
            "referrals": self.referrals,
            "re_referrals": self.re_referrals,
            "re_referral_rate": self.re_referral_rate,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "periods": [period.to_dict() for period in self.periods],
        }


def referral_stats(events: Iterable[CaseEvent], *, as_of: date | None = None) -> ReferralStats:
    """The figures over all the data, and per reporting year and rolling 12 months to `as_of`.

    `as_of` defaults to the last event's day; events after it should already be left out.
    """
    children, referrals, earliest, latest = _collect(events)
    flagged = _flag_re_referrals(referrals)
    today = as_of or latest
    periods: tuple[PeriodStats, ...] = ()
    if today is not None and earliest is not None:
        spans = _periods([day for _, day, *_ in flagged], today)
        periods = tuple(_period(*span, today, earliest, flagged) for span in spans)
    return ReferralStats(
        children=len(children),
        referrals=len(flagged),
        re_referrals=sum(1 for *_, in_data, from_source in flagged if in_data or from_source),
        periods=periods,
        as_of=today,
    )


class FlaggedReferral(NamedTuple):
    """One (child, day) referral, and whether it is a re-referral, by the data or by the source's own count."""

    child_id: str
    day: date
    nfa: bool | None
    in_data: bool  # an earlier referral of the child in the data lies within the 12 months before
    from_source: bool  # the source says the child had referrals in the 12 months before

    @property
    def re_referral(self) -> bool:
        return self.in_data or self.from_source


_Flagged = FlaggedReferral


def flag_referrals(events: Iterable[CaseEvent]) -> list[FlaggedReferral]:
    """Every distinct (child, day) referral in the events, flagged as `referral_stats` counts it."""
    return _flag_re_referrals(_collect(events)[1])


def _collect(
    events: Iterable[CaseEvent],
) -> tuple[set[str], dict[str, dict[date, _ReferralFacts]], date | None, date | None]:
    """The children, what is known of each (child, day) referral, and the first and last event days."""
    children: set[str] = set()
    referrals: dict[str, dict[date, _ReferralFacts]] = defaultdict(dict)
    earliest: date | None = None
    latest: date | None = None
    for event in events:
        children.add(event.child_id)
        earliest = event.day if earliest is None else min(earliest, event.day)
        latest = event.day if latest is None else max(latest, event.day)
        if isinstance(event, Referral):
            facts = referrals[event.child_id].setdefault(event.day, _ReferralFacts())
            if facts.nfa is None:
                facts.nfa = event.nfa
            facts.earlier_in_12_months |= bool(event.referrals_last_12_months)
    return children, referrals, earliest, latest


def _flag_re_referrals(referrals: dict[str, dict[date, _ReferralFacts]]) -> list[_Flagged]:
    flagged: list[_Flagged] = []
    for child, by_day in referrals.items():
        previous: date | None = None
        for day in sorted(by_day):
            facts = by_day[day]
            in_data = previous is not None and within_months_after(previous, day, DFE_WINDOW_MONTHS)
            flagged.append(FlaggedReferral(child, day, facts.nfa, in_data, facts.earlier_in_12_months))
            previous = day
    return flagged


def reporting_year(day: date) -> tuple[str, date, date]:
    """The DfE reporting year holding `day`: its name ("2024-25"), first and last day."""
    start_year = day.year if day.month >= REPORTING_YEAR_STARTS else day.year - 1
    first = date(start_year, REPORTING_YEAR_STARTS, 1)
    return f"{start_year}-{(start_year + 1) % 100:02d}", first, add_months(first, 12) - timedelta(days=1)


def _periods(days: list[date], today: date) -> list[tuple[PeriodKind, str, date, date]]:
    """Each reporting year that holds a referral, up to the as-of day's, and the 12 months to it."""
    years = sorted({reporting_year(day) for day in days if day <= today} | {reporting_year(today)})
    found: list[tuple[PeriodKind, str, date, date]] = [("reporting_year", n, f, last) for n, f, last in years]
    rolling_first = add_months(today, -DFE_WINDOW_MONTHS) + timedelta(days=1)
    found.append(("rolling_12_months", f"12 months to {today.isoformat()}", rolling_first, today))
    return found


def _period(
    kind: PeriodKind, name: str, first: date, last: date, today: date, earliest: date, flagged: list[_Flagged]
) -> PeriodStats:
    inside = [f for f in flagged if first <= f[1] <= last]
    groups: dict[str, list[_Flagged]] = {"nfa": [], "not_nfa": [], "not_given": []}
    for item in inside:
        groups["not_given" if item[2] is None else "nfa" if item[2] else "not_nfa"].append(item)
    return PeriodStats(
        kind=kind,
        name=name,
        first=first,
        last=last,
        complete=today >= last,
        lookback_complete=earliest <= add_months(first, -DFE_WINDOW_MONTHS),
        total=_counts(inside),
        from_history_only=sum(1 for *_, in_data, from_source in inside if from_source and not in_data),
        by_nfa={key: _counts(items) for key, items in groups.items()},
    )


def _counts(items: list[_Flagged]) -> Counts:
    return Counts(referrals=len(items), re_referrals=sum(1 for *_, in_data, source in items if in_data or source))


def count_re_referrals(days: Iterable[date]) -> int:
    """Re-referrals among one child's referral days.

    Only the closest earlier referral needs checking: adding months never moves a later
    day earlier, so if it is out of the window every earlier one is too.
    """
    ordered = sorted(set(days))
    return sum(within_months_after(earlier, later, DFE_WINDOW_MONTHS) for earlier, later in pairwise(ordered))
