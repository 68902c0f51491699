"""The QA report's figures, as a pure function of the events and the alerts (no I/O, no clock).

Heads of service and QA officers ask aggregate questions the per-child alerts cannot
answer (shared/DOMAIN.md, "rates over time"): how many referrals came back within 12
months, for which team, beside England and the statistical neighbours; what became of
the written agreements; how the practice measures stand; how many alerts each team got.
`casewatch report` renders what this returns as one HTML file or one JSON document, so
the two always hold the same figures.

Nothing here is worked out twice: a referral's re-referral flag is `agents.stats`'s (the
DfE definition, with the source's own "referrals in the last 12 months"), the team it
counts for is the team rule's `attribution` (the team that closed the previous episode),
an agreement left at closure is `agents.episodes.closure_of`, the child states are built
by the engine's `fold` (all history, never pruned: a report looks further back than the
rules' horizon), and what the sources cannot support is `agents.readiness`.

Every figure says its period (a reporting year, 1 April to 31 March, or the rolling
months to the as-of day) and whether the data covers the 12 months before it. A share
"followed within k months" counts only agreements made at least k months before the
as-of day: a younger agreement has not had the time to be followed.
"""

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from agents.calendar import add_months, within_months_after
from agents.engine import fold
from agents.episodes import closure_of, episodes_of
from agents.readiness import CHILD_SEEN, CHILD_SEEN_ALONE, CHILD_VIEWS, PLAN_OUTCOMES, Readiness
from agents.rules.plan_not_smart import outcomes_lacking
from agents.rules.team_rereferral_rate_high import NATIONAL_RATE, attribution
from agents.rules.team_rereferral_rate_high import RULE_ID as TEAM_RULE_ID
from agents.state import ChildState
from agents.stats import DFE_WINDOW_MONTHS, Counts, flag_referrals, reporting_year
from schemas.alerts import Alert
from schemas.events import Assessment, CaseEvent, Plan, WrittenAgreement

FOLLOW_UP_MONTHS = (3, 6, 12)
COHORT_MONTHS = 12
# Two-sided funnel limits: 95% (about 2 standard errors) and 99.8% (about 3).
LIMITS = {"95": (0.025, 0.975), "99.8": (0.001, 0.999)}
SAB_RULE = "sexual_abuse_indicator_not_recorded"
VIEWS_RULE = "child_views_not_recorded"


@dataclass(frozen=True)
class Comparator:
    """A published re-referral rate to set the council's beside: England, statistical neighbours, region."""

    name: str
    rate: float
    period: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rate": self.rate, "period": self.period}


ENGLAND = Comparator("England", NATIONAL_RATE, "2024-25")  # 142,900 of 632,830 referrals


@dataclass(frozen=True)
class Period:
    kind: str  # "reporting_year" or "rolling"
    name: str
    first: date
    last: date

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class TrackedAlert:
    """An alert, and what managers did with it where a database says (open, acknowledged, resolved)."""

    alert: Alert
    status: str | None = None


@dataclass(frozen=True)
class ReferralRow:
    child_id: str
    day: date
    nfa: bool | None
    re_referral: bool
    team: str  # the team it counts for: the closing team of the previous episode, else the front door
    front_door: str


@dataclass(frozen=True)
class ClosureRow:
    """An episode a team closed, and whether the child was referred again within 12 months of its referral."""

    child_id: str
    team: str
    referral: date
    closed: date
    re_referred: bool


@dataclass(frozen=True)
class AgreementRow:
    child_id: str
    agreement_id: str
    team: str
    made: date
    agreement_type: str | None
    context: str | None
    closure: date | None  # the closure it was left in place at
    review_due: date | None
    reviewed_on_time: bool | None  # None: no review date, or not yet due
    breached: bool
    referral: date | None  # the first referral within 12 months after it
    section47: date | None
    cp_plan: date | None


class ReportError(ValueError):
    """A period or option the report cannot use."""


def parse_year(text: str) -> tuple[date, date]:
    """ "2024-25" -> (2024-04-01, 2025-03-31): the DfE reporting year."""
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4 or len(parts[1]) != 2:
        raise ReportError(f"year {text!r} is not a reporting year such as 2024-25")
    start = int(parts[0])
    if (start + 1) % 100 != int(parts[1]):
        raise ReportError(f"year {text!r}: a reporting year runs from April to the next March, e.g. {start}-"
                          f"{(start + 1) % 100:02d}")  # fmt: skip
    _, first, last = reporting_year(date(start, 4, 1))
    return first, last


def periods(as_of: date, year: str | None, months: int) -> tuple[Period, Period]:
    """The reporting year (default: the one holding `as_of`) and the `months` to `as_of`."""
    if months < 1:
        raise ReportError("--months must be at least 1")
    if year is None:
        name, first, last = reporting_year(as_of)
    else:
        first, last = parse_year(year)
        name = year
    rolling_first = add_months(as_of, -months) + timedelta(days=1)
    return (
        Period("reporting_year", name, first, last),
        Period("rolling", f"{months} months to {as_of.isoformat()}", rolling_first, as_of),
    )


def report_window(year: Period, rolling: Period) -> Period:
    """The months both periods cover together: the monthly tables, the charts, the alerts and the audit sample."""
    return Period("window", "report window", min(year.first, rolling.first), max(year.last, rolling.last))


def child_states(events: Iterable[CaseEvent]) -> dict[str, ChildState]:
    """Each child's facts over all the history given (the engine's fold; nothing pruned)."""
    states: dict[str, ChildState] = {}
    for event in events:
        fold(states.setdefault(event.child_id, ChildState()), event)
    return states


def referral_rows(events: Sequence[CaseEvent], states: dict[str, ChildState]) -> list[ReferralRow]:
    """Every distinct (child, day) referral with its re-referral flag and the team it counts for."""
    rows = []
    for flagged in flag_referrals(events):
        state = states[flagged.child_id]
        record = state.referrals[flagged.day]
        team, front, in_data = attribution(state, flagged.day, record.team, DFE_WINDOW_MONTHS)
        # A re-referral known only from the source's own count has no previous episode in the data.
        rows.append(ReferralRow(flagged.child_id, flagged.day, flagged.nfa, flagged.re_referral,
                                team if in_data else front, front))  # fmt: skip
    return sorted(rows, key=lambda r: (r.day, r.child_id))


def closure_rows(states: dict[str, ChildState], as_of: date) -> list[ClosureRow]:
    """Every episode closed by `as_of`, by the team that closed it: a closing team's own rate.

    The team rule counts each re-referral for the team that closed the previous episode, so
    a closing team's referrals are all re-referrals; its rate needs its closures instead: of
    the episodes it closed, the share whose child was referred again within 12 months of the
    episode's referral (the DfE window)."""
    rows = []
    for child_id, state in states.items():
        for episode in episodes_of(state).episodes:
            closed = episode.closed
            if closed is None or closed > as_of:
                continue
            later = min((d for d in state.referrals if d >= closed and d > episode.start and d <= as_of), default=None)
            again = later is not None and within_months_after(episode.start, later, DFE_WINDOW_MONTHS)
            rows.append(ClosureRow(child_id, state.closures[closed][1], episode.start, closed, again))
    return sorted(rows, key=lambda r: (r.closed, r.child_id))


def agreement_rows(events: Sequence[CaseEvent], states: dict[str, ChildState], as_of: date) -> list[AgreementRow]:
    """Every agreement made (by its made day) and what became of it by `as_of`."""
    kinds: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for event in events:
        if isinstance(event, WrittenAgreement):
            key = (event.child_id, event.agreement_id)
            known_type, known_context = kinds.get(key, (None, None))
            kinds[key] = (known_type or event.agreement_type, known_context or event.context)
    rows = []
    for child_id, state in states.items():
        episodes = episodes_of(state)
        for agreement_id, record in state.agreements.items():
            made = record.made
            if made is None or made > as_of:
                continue
            agreement_type, context = kinds.get((child_id, agreement_id), (None, None))
            rows.append(
                AgreementRow(
                    child_id=child_id,
                    agreement_id=agreement_id,
                    team=record.team or "unknown",
                    made=made,
                    agreement_type=agreement_type,
                    context=context,
                    closure=closure_of(state, record, episodes),
                    review_due=record.review_due,
                    reviewed_on_time=_reviewed_on_time(record.review_due, list(record.reviews), as_of),
                    breached=any(day <= as_of for day in record.breaches),
                    referral=_first_after(made, state.referrals, as_of),
                    section47=_first_after(made, [d for d, _ in state.enquiries.values()], as_of),
                    cp_plan=_first_after(made, [p.first for p in state.plans.values() if p.plan_type == "cp"], as_of),
                )
            )
    return sorted(rows, key=lambda r: (r.made, r.child_id, r.agreement_id))


def _reviewed_on_time(due: date | None, reviews: list[date], as_of: date) -> bool | None:
    if due is None:
        return None
    if any(day <= due for day in reviews):
        return True
    return False if due < as_of else None


def _first_after(made: date, days: Iterable[date], as_of: date) -> date | None:
    return min((d for d in days if d <= as_of and within_months_after(made, d, DFE_WINDOW_MONTHS)), default=None)


def followed_within(row: AgreementRow, what: str, months: int, as_of: date) -> bool | None:
    """Whether `what` (referral, section47, cp_plan) followed within `months`; None: too young to say."""
    if add_months(row.made, months) > as_of:
        return None
    day: date | None = getattr(row, what)
    return day is not None and within_months_after(row.made, day, months)


# --- rates and limits -----------------------------------------------------------------


def _counts(rows: Iterable[ReferralRow]) -> Counts:
    items = list(rows)
    return Counts(referrals=len(items), re_referrals=sum(r.re_referral for r in items))


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in logs (n is a team's referrals: thousands at most)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k + 1):
        total += math.exp(
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        )
    return min(total, 1.0)


def binomial_limit(p: float, n: int, quantile: float) -> float:
    """The funnel limit at `quantile` for n referrals around rate p: the exact binomial quantile,
    interpolated so the curve is smooth (Spiegelhalter, Funnel plots for comparing institutional
    performance, Statistics in Medicine 2005)."""
    if n <= 0 or p <= 0.0 or p >= 1.0:
        return p
    r = 0
    cdf = _binomial_cdf(0, n, p)
    while cdf < quantile and r < n:
        r += 1
        cdf = _binomial_cdf(r, n, p)
    below = _binomial_cdf(r - 1, n, p)
    alpha = (cdf - quantile) / (cdf - below) if cdf > below else 0.0
    return max(0.0, min(1.0, (r - alpha) / n))


def p_chart_limits(p: float, n: int, sigmas: float = 3.0) -> tuple[float, float]:
    """A p-chart's lower and upper control limits at n referrals around the centre line p."""
    if n <= 0:
        return p, p
    spread = sigmas * math.sqrt(p * (1 - p) / n)
    return max(0.0, p - spread), min(1.0, p + spread)


def _position(rate: float, p: float, n: int) -> str:
    """Where a team sits in the funnel: outside 99.8%, outside 95%, or within."""
    for level in ("99.8", "95"):
        low, high = LIMITS[level]
        if rate > binomial_limit(p, n, high):
            return f"above {level}%"
        if rate < binomial_limit(p, n, low):
            return f"below {level}%"
    return "within 95%"


# --- sections -------------------------------------------------------------------------


def _month(day: date) -> str:
    return day.isoformat()[:7]


def _months(first: date, last: date) -> list[str]:
    found, month = [], first.replace(day=1)
    while month <= last:
        found.append(_month(month))
        month = add_months(month, 1)
    return found


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rereferral_period(
    rows: list[ReferralRow], closures: list[ClosureRow], period: Period, earliest: date, as_of: date
) -> dict[str, Any]:
    inside = [r for r in rows if period.holds(r.day)]
    la = _counts(inside)
    teams: dict[str, list[ReferralRow]] = defaultdict(list)
    front: dict[str, list[ReferralRow]] = defaultdict(list)
    closed: dict[str, list[ClosureRow]] = defaultdict(list)
    for row in inside:
        teams[row.team].append(row)
        front[row.front_door].append(row)
    for closure in closures:
        if period.holds(closure.closed):
            closed[closure.team].append(closure)
    closed_all = [c for items in closed.values() for c in items]
    closed_rate = _share(sum(c.re_referred for c in closed_all), len(closed_all)) or 0.0
    nfa_key = {True: "nfa", False: "not_nfa", None: "not_given"}

    def by_nfa(items: list[ReferralRow]) -> dict[str, Any]:
        return {key: _counts(r for r in items if nfa_key[r.nfa] == key).to_dict() for key in nfa_key.values()}

    team_rows = []
    for team in sorted(set(teams) | set(front) | set(closed)):
        counts = _counts(teams.get(team, []))
        door = _counts(front.get(team, []))
        ends = closed.get(team, [])
        again = sum(c.re_referred for c in ends)
        rate = _share(again, len(ends))
        team_rows.append({
            "team": team,
            # as the team rule counts: a re-referral for the closing team, any other referral for the front door
            "attributed": {**counts.to_dict(), "by_nfa": by_nfa(teams.get(team, []))},
            "front_door_referrals": door.referrals,
            "front_door_re_referrals": door.re_referrals,
            "front_door_rate": door.rate,
            "closures": len(ends),
            "closures_re_referred": again,
            "closure_re_referral_rate": rate,
            "funnel": _position(rate, closed_rate, len(ends)) if rate is not None else None,
        })  # fmt: skip
    return {
        "kind": period.kind,
        "period": period.name,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "complete": as_of >= period.last,
        "lookback_complete": earliest <= add_months(period.first, -DFE_WINDOW_MONTHS),
        **la.to_dict(),
        "by_nfa": by_nfa(inside),
        "closures": len(closed_all),
        "closures_re_referred": sum(c.re_referred for c in closed_all),
        "closure_re_referral_rate": closed_rate,
        "teams": team_rows,
    }


def _funnel(period: dict[str, Any]) -> dict[str, Any]:
    """The funnel of closing teams: limit curves around the LA's share of closures re-referred, up to the largest."""
    p = period["closure_re_referral_rate"]
    largest = max((t["closures"] for t in period["teams"]), default=0)
    top = max(10, int(largest * 1.1) + 1)
    sizes = sorted({max(1, round(top * i / 40)) for i in range(1, 41)} | {5, 10, 20})
    sizes = [n for n in sizes if n <= top]
    curves = {
        level: [{"n": n, "lower": round(binomial_limit(p, n, low), 4), "upper": round(binomial_limit(p, n, high), 4)}
                for n in sizes]
        for level, (low, high) in LIMITS.items()
    }  # fmt: skip
    return {"centre": p, "limits": curves}


def _control_chart(rows: list[ReferralRow], months: list[str], earliest: date) -> dict[str, Any]:
    """The LA's monthly re-referral rate as a p-chart: centre line the rate over these months, 3-sigma limits."""
    by_month: dict[str, list[ReferralRow]] = defaultdict(list)
    for row in rows:
        by_month[_month(row.day)].append(row)
    total = _counts(r for m in months for r in by_month.get(m, []))
    p = total.rate
    points = []
    for month in months:
        counts = _counts(by_month.get(month, []))
        low, high = p_chart_limits(p, counts.referrals)
        rate = counts.rate if counts.referrals else None
        signal = rate is not None and (rate > high or rate < low)
        start = date.fromisoformat(month + "-01")
        points.append({
            "month": month, **counts.to_dict(), "lower": round(low, 4), "upper": round(high, 4),
            "outside_limits": signal, "lookback_complete": earliest <= add_months(start, -DFE_WINDOW_MONTHS),
        })  # fmt: skip
    return {"centre": p, "sigmas": 3, "months": points}


def _team_months(rows: list[ReferralRow], closures: list[ClosureRow], months: list[str]) -> list[dict[str, Any]]:
    """Per team and month: referrals taken and re-referred, re-referrals after its closures, closures re-referred."""
    cells: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        month = _month(row.day)
        if month in months:
            front = cells[(row.front_door, month)]
            front["front_door_referrals"] += 1
            front["front_door_re_referrals"] += row.re_referral
            cells[(row.team, month)]["attributed_re_referrals"] += row.re_referral
    for closure in closures:
        month = _month(closure.closed)
        if month in months:
            cell = cells[(closure.team, month)]
            cell["closures"] += 1
            cell["closures_re_referred"] += closure.re_referred
    names = ("front_door_referrals", "front_door_re_referrals", "attributed_re_referrals", "closures",
             "closures_re_referred")  # fmt: skip
    return [{"team": team, "month": month, **{n: counts[n] for n in names}}
            for (team, month), counts in sorted(cells.items())]  # fmt: skip


TEAM_RULE_FIGURES = ("period_start", "period_end", "referrals", "rereferrals", "rereferral_rate_percent",
                     "upper_control_limit_percent", "change", "front_door_referrals", "front_door_rereferrals",
                     "agreements", "agreements_followed")  # fmt: skip


def _team_rule_months(alerts: Sequence[TrackedAlert], months: list[str]) -> list[dict[str, Any]]:
    """The team rule's own monthly judgements (12 months to each month's end, from the worker's team
    counters): one report-only finding per team and month, stored like any alert, so a deployment's
    database holds them and a replay makes the same ones."""
    rows = []
    for tracked in alerts:
        alert = tracked.alert
        month = alert.facts.get("month")
        if alert.rule != TEAM_RULE_ID or alert.child_id is not None or month not in months:
            continue
        rows.append({"team": alert.team, "month": month, **{k: alert.facts.get(k) for k in TEAM_RULE_FIGURES}})
    return sorted(rows, key=lambda r: (r["team"], r["month"]))


def _agreement_summary(rows: list[AgreementRow], as_of: date) -> dict[str, Any]:
    """Made, share at closure, reviewed on time, breached, followed within 3/6/12 months (of those old enough)."""
    due = [r.reviewed_on_time for r in rows if r.reviewed_on_time is not None]
    found: dict[str, Any] = {
        "made": len(rows),
        "at_closure": sum(r.closure is not None for r in rows),
        "at_closure_share": _share(sum(r.closure is not None for r in rows), len(rows)),
        "reviews_due": len(due),
        "reviewed_on_time": sum(due),
        "reviewed_on_time_share": _share(sum(due), len(due)),
        "breached": sum(r.breached for r in rows),
        "breached_share": _share(sum(r.breached for r in rows), len(rows)),
    }
    for what in ("referral", "section47", "cp_plan"):
        for months in FOLLOW_UP_MONTHS if what == "referral" else (12,):
            answers = [followed_within(r, what, months, as_of) for r in rows]
            known = [a for a in answers if a is not None]
            found[f"{what}_{months}m_eligible"] = len(known)
            found[f"{what}_{months}m"] = sum(known)
            found[f"{what}_{months}m_share"] = _share(sum(known), len(known))
    return found


def _cohort(rows: list[AgreementRow], as_of: date) -> list[dict[str, Any]]:
    """Months since the agreement against the share re-referred by then: at closure, and the others."""
    points = []
    for months in range(1, COHORT_MONTHS + 1):
        point: dict[str, Any] = {"months": months}
        for name, group in (("at_closure", [r for r in rows if r.closure is not None]),
                            ("other", [r for r in rows if r.closure is None])):  # fmt: skip
            known = [a for a in (followed_within(r, "referral", months, as_of) for r in group) if a is not None]
            point[f"{name}_eligible"] = len(known)
            point[f"{name}_share"] = _share(sum(known), len(known))
        points.append(point)
    return points


def _grouped(rows: list[AgreementRow], key: str, as_of: date) -> list[dict[str, Any]]:
    groups: dict[str, list[AgreementRow]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key) or "not given"].append(row)
    return [{key: name, **_agreement_summary(items, as_of)} for name, items in sorted(groups.items())]


def _agreements(rows: list[AgreementRow], window: Period, year: Period, as_of: date) -> dict[str, Any]:
    inside = [r for r in rows if window.holds(r.made)]
    in_year = [r for r in inside if year.holds(r.made)]
    per_month: dict[tuple[str, str], list[AgreementRow]] = defaultdict(list)
    for row in inside:
        per_month[(_month(row.made), row.team)].append(row)
    given = {k: any(getattr(r, k) for r in rows) for k in ("agreement_type", "context")}
    return {
        "reporting_year": {"period": year.name, **_agreement_summary(in_year, as_of)},
        "window": _agreement_summary(inside, as_of),
        "teams": _grouped(inside, "team", as_of),
        "months": [
            {"month": m, "team": t, **_agreement_summary(items, as_of)} for (m, t), items in sorted(per_month.items())
        ],
        "by_type": _grouped(inside, "agreement_type", as_of) if given["agreement_type"] else None,
        "by_context": _grouped(inside, "context", as_of) if given["context"] else None,
        "cohort": _cohort(inside, as_of),
    }


def _practice(events: Sequence[CaseEvent], alerts: Sequence[TrackedAlert], window: Period,
              seen: set[str]) -> list[dict[str, Any]]:  # fmt: skip
    """The practice measures per team, each with a banner when the sources cannot support it."""
    ready = Readiness(seen).report()
    plans: dict[str, list[bool]] = defaultdict(list)
    seen_counts: dict[str, dict[str, list[bool]]] = {k: defaultdict(list) for k in ("seen", "alone", "views")}
    sab_plans: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if not window.holds(event.day):
            continue
        if isinstance(event, Plan):
            if event.outcomes and event.action != "ended":
                plans[event.team].append(not any(outcomes_lacking(event.outcomes)))
            if event.plan_type == "cp" and set(event.categories) & {"SAB", "MUL"}:
                sab_plans[event.team].add(event.event_id)
        elif isinstance(event, Assessment):
            for key, value in (("seen", event.child_seen), ("alone", event.child_seen_alone),
                               ("views", event.child_views_recorded)):  # fmt: skip
                if value is not None:
                    seen_counts[key][event.team].append(value)
    flagged_sab = {e for t in alerts if t.alert.rule == SAB_RULE and window.holds(t.alert.occurred_at.date())
                   for e in t.alert.event_ids}  # fmt: skip
    sab_rows = {team: [event_id not in flagged_sab for event_id in ids] for team, ids in sab_plans.items()}

    def measure(
        key: str, title: str, item: str | None, rule: str | None, by_team: dict[str, list[bool]]
    ) -> dict[str, Any]:
        banner = None
        if item is not None and item not in seen:
            banner = f"The sources carry no {item}: this measure cannot be given."
        elif rule is not None and not ready[rule].runs:
            banner = f"Rule {rule} is {ready[rule].describe()}: this measure cannot be given."
        elif not any(by_team.values()):
            banner = "Nothing in the period to measure."
        teams = [{"team": team, "judged": len(values), "met": sum(values), "share": _share(sum(values), len(values))}
                 for team, values in sorted(by_team.items())]  # fmt: skip
        total = [v for values in by_team.values() for v in values]
        return {"measure": key, "title": title, "supported": banner is None, "banner": banner, "judged": len(total),
                "met": sum(total), "share": _share(sum(total), len(total)), "teams": teams}  # fmt: skip

    return [
        measure("plans_smart", "CP and CIN plan events whose every outcome has a measure, an owner and a target date",
                PLAN_OUTCOMES, None, plans),
        measure("child_seen", "Assessments with the child seen", CHILD_SEEN, None, seen_counts["seen"]),
        measure("child_seen_alone", "Assessments with the child seen alone", CHILD_SEEN_ALONE, None,
                seen_counts["alone"]),
        measure("child_views", "Assessments with the child's views recorded", CHILD_VIEWS, None, seen_counts["views"]),
        measure("sab_plans_with_factor", "CP plans with a sexual-abuse category (SAB, MUL) whose assessments record a "
                "sexual-abuse factor (19B, 19C, 11A), as the sexual-abuse rule judges", None, SAB_RULE, sab_rows),
    ]  # fmt: skip


def _alert_load(
    alerts: Sequence[TrackedAlert], window: Period, months: list[str], from_database: bool
) -> dict[str, Any]:
    """Alerts per rule, team, month and delivery class; with a database, what managers did with them."""
    cells: Counter[tuple[str, str, str, str]] = Counter()
    statuses: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    classes: dict[str, Counter[str]] = defaultdict(Counter)
    for tracked in alerts:
        alert = tracked.alert
        day = alert.occurred_at.date()
        if not window.holds(day):
            continue
        cells[(alert.rule, alert.team, _month(day), alert.delivery)] += 1
        classes[_month(day)][alert.delivery] += 1
        statuses[(alert.rule, alert.team)][tracked.status or "not stored"] += 1
    return {
        "source": "database" if from_database else "replay",
        "rows": [{"rule": r, "team": t, "month": m, "delivery": d, "alerts": n}
                 for (r, t, m, d), n in sorted(cells.items())],
        "months": [{"month": m, **{c: classes[m].get(c, 0) for c in ("immediate", "worklist", "report")}}
                   for m in months],
        "outcomes": [{"rule": r, "team": t, **{s: c.get(s, 0) for s in ("open", "acknowledged", "resolved")},
                      "total": sum(c.values())} for (r, t), c in sorted(statuses.items())],
    }  # fmt: skip


def report_figures(
    events: Sequence[CaseEvent],
    alerts: Sequence[TrackedAlert],
    *,
    as_of: date | None = None,
    year: str | None = None,
    months: int = 12,
    comparators: Sequence[Comparator] = (ENGLAND,),
    from_database: bool = False,
) -> dict[str, Any]:
    """Every figure of the QA report, as plain data (the HTML and the JSON render this)."""
    known = [e for e in events if as_of is None or e.day <= as_of]
    if not known:
        raise ReportError("no events to report on (every file was empty or rejected)")
    today = as_of or max(e.day for e in known)
    earliest = min(e.day for e in known)
    year_period, rolling = periods(today, year, months)
    window = report_window(year_period, rolling)
    states = child_states(known)
    referrals = referral_rows(known, states)
    readiness = Readiness()
    for event in known:
        readiness.see(event)
    chart_months = _months(window.first, min(window.last, today))
    closures = closure_rows(states, today)
    year_figures = _rereferral_period(referrals, closures, year_period, earliest, today)
    return {
        "as_of": today.isoformat(),
        "data_from": earliest.isoformat(),
        "events": len(known),
        "children": len(states),
        "comparators": [c.to_dict() for c in comparators],
        "rereferrals": {
            "periods": [year_figures, _rereferral_period(referrals, closures, rolling, earliest, today)],
            "funnel": _funnel(year_figures),
            "control_chart": _control_chart(referrals, chart_months, earliest),
            "team_months": _team_months(referrals, closures, chart_months),
            "team_rule": _team_rule_months(alerts, chart_months),
        },
        "agreements": _agreements(agreement_rows(known, states, today), window, year_period, today),
        "practice": _practice(known, alerts, window, readiness.seen),
        "alerts": _alert_load(alerts, window, chart_months, from_database),
    }


# --- audit sample ---------------------------------------------------------------------

STRATA = {
    "rereferred_after_agreement": "referred again within 12 months of a written agreement",
    "closed_with_agreement": "case closed with a written agreement in place",
    "sexual_abuse_not_in_factors": "sexual-abuse concern or SAB plan, no 19B/19C/11A factor recorded",
    "assessment_without_views": "assessment without the child's views recorded",
}
AUDIT_COLUMNS = ("child_id", "stratum", "team", "first_date", "second_date", "reason")


def audit_candidates(events: Sequence[CaseEvent], alerts: Sequence[TrackedAlert], window: Period,
                     as_of: date) -> dict[str, list[dict[str, str]]]:  # fmt: skip
    """Per stratum, every case in the window that belongs to it (ids, dates and codes only)."""
    states = child_states(e for e in events if e.day <= as_of)
    agreements = [r for r in agreement_rows(events, states, as_of) if window.holds(r.made)]
    found: dict[str, list[dict[str, str]]] = {name: [] for name in STRATA}

    def add(stratum: str, child: str, team: str, first: date, second: date | None) -> None:
        found[stratum].append({"child_id": child, "stratum": stratum, "team": team,
                               "first_date": first.isoformat(), "second_date": second.isoformat() if second else "",
                               "reason": STRATA[stratum]})  # fmt: skip

    for row in agreements:
        if row.referral is not None:
            add("rereferred_after_agreement", row.child_id, row.team, row.made, row.referral)
        if row.closure is not None:
            add("closed_with_agreement", row.child_id, row.team, row.made, row.closure)
    for tracked in alerts:
        alert = tracked.alert
        day = alert.occurred_at.date()
        if alert.child_id is None or not window.holds(day):
            continue
        if alert.rule == SAB_RULE:
            first = alert.facts.get("first_concern")
            add(
                "sexual_abuse_not_in_factors",
                alert.child_id,
                alert.team,
                date.fromisoformat(str(first)) if first else day,
                day,
            )
        elif alert.rule == VIEWS_RULE:
            add("assessment_without_views", alert.child_id, alert.team, day, None)
    for rows in found.values():
        rows.sort(key=lambda r: (r["first_date"], r["child_id"], r["second_date"]))
    return found


def audit_sample(candidates: dict[str, list[dict[str, str]]], size: int, seed: int) -> list[dict[str, str]]:
    """`size` cases drawn with `seed`, spread evenly over the strata (a stratum short of cases gives
    its share to the others), one row per case and stratum: the same seed gives the same sample."""
    if size < 1:
        raise ReportError("--audit-sample must be at least 1")
    rng = random.Random(seed)
    quota = dict.fromkeys(candidates, 0)
    left = size
    open_strata = [s for s in candidates if candidates[s]]
    while left and open_strata:
        for stratum in list(open_strata):
            if not left:
                break
            quota[stratum] += 1
            left -= 1
            if quota[stratum] >= len(candidates[stratum]):
                open_strata.remove(stratum)
    sample = []
    for stratum, rows in candidates.items():
        sample += sorted(rng.sample(rows, quota[stratum]), key=lambda r: (r["first_date"], r["child_id"]))
    return sample
