"""The weekly team worklist: one line per child, every open finding of that child merged.

Pure: alerts, an ISO week and the resolutions in; worklists out. The dispatcher builds it
from the stored alerts and `casewatch replay` from the replayed ones, with the same
function, so live and replay give the same lists for the same alerts and resolutions.

Weeks are ISO weeks in Europe/London (a manager's week), named like `2024-W07`. The
worklist of week W covers findings raised (event time, `occurred_at`) up to the end of W.
A finding is **open** in week W when it was raised in W or in the `keep_weeks - 1` weeks
before, is of a class the worklist carries, and is not in `resolved` (live: resolved
through `casewatch alert resolve`; replay knows no resolutions). So a finding nobody
resolves stays on `keep_weeks` lists, then leaves them (it is still counted in reports).
Marks: **new** (raised in W), **overdue** (raised `overdue_after_weeks` weeks or more
before W), otherwise **open** ("still open"). A line's mark is that of its oldest finding.

A child's line goes on the list of the team its newest open finding names, so a child who
moved team is on one list, the current team's. A team-level finding (no child) makes a
line for "the team as a whole". Only child IDs, dates, codes, rule ids and the rules'
own wording travel: the alerts carry nothing else.
"""

import bisect
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from schemas.alerts import Alert, DeliveryClass, FactValue, Severity

LONDON = ZoneInfo("Europe/London")
Mark = Literal["new", "open", "overdue"]
SEVERITY_RANK: dict[str, int] = {"high": 0, "medium": 1, "low": 2}
MARK_TEXT: dict[Mark, str] = {"new": "new", "open": "still open", "overdue": "overdue"}


class WeekError(ValueError):
    """Not an ISO week such as 2024-W07."""


@dataclass(frozen=True)
class WorklistPolicy:
    """What the worklist carries and for how long (the `routing.worklist` settings)."""

    overdue_after_weeks: int = 3
    keep_weeks: int | None = 8  # None: on every list until resolved
    classes: frozenset[DeliveryClass] = frozenset({"immediate", "worklist"})


def week_of(moment: datetime) -> str:
    """The ISO week, in Europe/London, of an aware moment."""
    year, week, _ = moment.astimezone(LONDON).isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(week: str) -> date:
    try:
        year, number = week.split("-W")
        if len(number) != 2:
            raise ValueError
        return date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise WeekError(f"{week!r} is not an ISO week such as 2024-W07") from None


def week_start(week: str) -> datetime:
    """Monday 00:00 Europe/London of `week`, in UTC."""
    return datetime.combine(monday_of(week), time(0), tzinfo=LONDON).astimezone(UTC)


def week_end(week: str) -> datetime:
    """The start of the next week: the worklist of `week` covers findings raised before it."""
    return week_start(shift(week, 1))


def shift(week: str, weeks: int) -> str:
    year, number, _ = (monday_of(week) + timedelta(weeks=weeks)).isocalendar()
    return f"{year}-W{number:02d}"


def _week_of_day(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(earlier: str, later: str) -> int:
    return (monday_of(later) - monday_of(earlier)).days // 7


@dataclass(frozen=True)
class WorklistItem:
    """One open finding on a child's line."""

    alert_id: str
    rule: str
    severity: Severity
    delivery: DeliveryClass
    raised_on: date  # Europe/London date of occurred_at
    age_weeks: int
    mark: Mark
    facts: tuple[tuple[str, FactValue], ...]
    explanation: str
    action: str


@dataclass(frozen=True)
class WorklistLine:
    """Everything open about one child (or the team as a whole) on one team's list."""

    child_id: str | None
    team: str
    mark: Mark
    severity: Severity
    latest: date
    link: str | None
    items: tuple[WorklistItem, ...]

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.rule for item in self.items))

    @property
    def subject(self) -> str:
        return f"child {self.child_id}" if self.child_id else "the team as a whole"


@dataclass(frozen=True)
class Worklist:
    team: str
    week: str
    lines: tuple[WorklistLine, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        marks = [line.mark for line in self.lines]
        return {
            "lines": len(self.lines),
            "new": marks.count("new"),
            "open": marks.count("open"),
            "overdue": marks.count("overdue"),
            "findings": sum(len(line.items) for line in self.lines),
            "high": sum(1 for line in self.lines if line.severity == "high"),
        }

    def alert_ids(self) -> list[str]:
        return sorted(item.alert_id for line in self.lines for item in line.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "week": self.week,
            "counts": self.counts(),
            "lines": [
                {
                    "child_id": line.child_id,
                    "mark": line.mark,
                    "severity": line.severity,
                    "latest": line.latest.isoformat(),
                    "link": line.link,
                    "rules": list(line.rules),
                    "findings": [
                        {
                            "alert_id": i.alert_id,
                            "rule": i.rule,
                            "severity": i.severity,
                            "delivery": i.delivery,
                            "raised_on": i.raised_on.isoformat(),
                            "mark": i.mark,
                            "facts": dict(i.facts),
                            "explanation": i.explanation,
                            "action": i.action,
                        }
                        for i in line.items
                    ],
                }
                for line in self.lines
            ],
        }


def is_open(alert: Alert, week: str, policy: WorklistPolicy, resolved: Collection[str]) -> bool:
    """On week `week`'s list: carried class, raised by the week's end, young enough, not resolved."""
    if alert.delivery not in policy.classes or alert.alert_id in resolved:
        return False
    age = weeks_between(week_of(alert.occurred_at), week)
    return age >= 0 and (policy.keep_weeks is None or age < policy.keep_weeks)


def earliest_open(week: str, policy: WorklistPolicy) -> datetime | None:
    """Findings raised before this cannot be on week `week`'s list (None: no limit)."""
    return None if policy.keep_weeks is None else week_start(shift(week, 1 - policy.keep_weeks))


def build_worklists(
    alerts: Iterable[Alert],
    week: str,
    *,
    policy: WorklistPolicy = WorklistPolicy(),
    resolved: Collection[str] = frozenset(),
    teams: Iterable[str] = (),
) -> dict[str, Worklist]:
    """One worklist per team, by team: every team of an alert raised by the week's end, and `teams`.

    A team with nothing open still gets its (empty) list: each team gets exactly one a week.
    """
    end = week_end(week)
    known = [a for a in alerts if a.occurred_at < end]
    names = {a.team for a in known} | set(teams)
    by_child: dict[tuple[str, str | None], list[Alert]] = defaultdict(list)
    for alert in known:
        if is_open(alert, week, policy, resolved):
            # Team-level findings form one line per team; a child's, one line wherever it is now.
            by_child[("", alert.child_id) if alert.child_id else (alert.team, None)].append(alert)
    lines: dict[str, list[WorklistLine]] = defaultdict(list)
    for group in by_child.values():
        line = _line(group, week, policy)
        lines[line.team].append(line)
    return {team: Worklist(team, week, tuple(sorted(lines.get(team, []), key=_line_order))) for team in sorted(names)}


def _line(alerts: list[Alert], week: str, policy: WorklistPolicy) -> WorklistLine:
    items = sorted((_item(a, week, policy) for a in alerts), key=_item_order)
    newest = max(alerts, key=lambda a: (a.occurred_at, a.alert_id))
    oldest = max(items, key=lambda i: (i.age_weeks, i.alert_id))
    links = [a.link for a in sorted(alerts, key=lambda a: (a.occurred_at, a.alert_id), reverse=True) if a.link]
    return WorklistLine(
        child_id=newest.child_id,
        team=newest.team,
        mark=oldest.mark,
        severity=min((i.severity for i in items), key=SEVERITY_RANK.__getitem__),
        latest=items[0].raised_on if items else newest.occurred_at.date(),
        link=links[0] if links else None,
        items=tuple(items),
    )


def _item(alert: Alert, week: str, policy: WorklistPolicy) -> WorklistItem:
    age = weeks_between(week_of(alert.occurred_at), week)
    mark: Mark = "new" if age == 0 else "overdue" if age >= policy.overdue_after_weeks else "open"
    return WorklistItem(
        alert_id=alert.alert_id,
        rule=alert.rule,
        severity=alert.severity,
        delivery=alert.delivery,
        raised_on=alert.occurred_at.astimezone(LONDON).date(),
        age_weeks=age,
        mark=mark,
        facts=tuple(alert.facts.items()),
        explanation=alert.explanation,
        action=alert.action,
    )


def _item_order(item: WorklistItem) -> tuple[int, int, str]:
    """Newest first, then highest severity."""
    return (-item.raised_on.toordinal(), SEVERITY_RANK[item.severity], item.alert_id)


def _line_order(line: WorklistLine) -> tuple[int, int, str]:
    """Highest severity first, then newest; the child ID breaks ties so the order is stable."""
    return (SEVERITY_RANK[line.severity], -line.latest.toordinal(), line.child_id or "")


@dataclass(frozen=True)
class WeekVolume:
    """What one team received in one week: own messages, worklist lines, report-only findings."""

    team: str
    week: str
    immediate: int
    worklist_lines: int
    report_only: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "week": self.week,
            "immediate": self.immediate,
            "worklist_lines": self.worklist_lines,
            "report_only": self.report_only,
        }


def weekly_volume(
    alerts: Iterable[Alert],
    *,
    policy: WorklistPolicy = WorklistPolicy(),
    notify_classes: Collection[DeliveryClass] = frozenset({"immediate"}),
    teams: Iterable[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> list[WeekVolume]:
    """Per team and week, from `since`'s week (or the first alert's) to `until`'s (or the last alert's).

    A team appears from the week of its first alert on (configured `teams` from the start),
    with a row for every week after, quiet ones too, so medians per team-week count them.

    `immediate` counts alerts raised that week that get their own message (their class is
    in `notify_classes`); `worklist_lines` the lines of that week's worklist (built by
    `build_worklists`, nothing resolved); `report_only` alerts raised that week that
    neither get a message nor go on the worklist.
    """
    ordered = sorted(alerts, key=lambda a: (a.occurred_at, a.alert_id))
    if not ordered:
        return []
    first = week_of(ordered[0].occurred_at)
    if since is not None:
        first = min(first, _week_of_day(since), key=monday_of)
    last = _week_of_day(until) if until else week_of(ordered[-1].occurred_at)
    moments = [a.occurred_at for a in ordered]
    configured = sorted(set(teams))
    found: list[WeekVolume] = []
    for offset in range(max(0, weeks_between(first, last)) + 1):
        week = shift(first, offset)
        start, end = week_start(week), week_end(week)
        since = earliest_open(week, policy)
        window = ordered[bisect.bisect_left(moments, since) if since else 0 : bisect.bisect_left(moments, end)]
        known_teams = {a.team for a in ordered[: bisect.bisect_left(moments, end)]}
        lists = build_worklists(window, week, policy=policy, teams=known_teams | set(configured))
        this_week = ordered[bisect.bisect_left(moments, start) : bisect.bisect_left(moments, end)]
        immediate: dict[str, int] = defaultdict(int)
        report_only: dict[str, int] = defaultdict(int)
        for alert in this_week:
            if alert.delivery in notify_classes:
                immediate[alert.team] += 1
            elif alert.delivery not in policy.classes:
                report_only[alert.team] += 1
        for team, worklist in lists.items():
            found.append(WeekVolume(team, week, immediate[team], len(worklist.lines), report_only[team]))
    return found
