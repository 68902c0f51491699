"""What the managers' page reads: stored alerts with what people did about them, for the
teams a reader sees. Pure reads; the page (casewatch/http/web_routes.py) renders them.

A child's timeline merges the child's case events (their rows in casewatch/timeline.py:
ids, dates and codes) with the alerts raised about the child, newest first.
"""

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from agents.timeline import TimelineRow
from agents.worklist import SEVERITY_RANK, Worklist, WorklistPolicy, build_worklists, week_of
from casewatch.delivery.allowlist import parse_payload
from casewatch.delivery.tables import alert_lifecycle
from casewatch.delivery.worklists import as_alert
from casewatch.storage import alerts_table, reading
from schemas.alerts import Alert

STATUSES = ("open", "acknowledged", "resolved")
# The page's age filter: raised within this many days, or ("older") longer ago than the last.
AGES = {"7": timedelta(days=7), "30": timedelta(days=30), "90": timedelta(days=90)}


@dataclass(frozen=True)
class Finding:
    """A stored alert and its lifecycle (an alert nobody touched is open)."""

    alert: Alert
    status: str
    assignee: str | None = None
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    outcome: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Filters:
    """The worklist's filters; empty values filter nothing. `status` "" means not resolved."""

    team: str = ""
    rule: str = ""
    severity: str = ""
    status: str = ""
    age: str = ""

    def keeps(self, finding: Finding, now: datetime) -> bool:
        alert = finding.alert
        if (self.team and alert.team != self.team) or (self.rule and alert.rule != self.rule):
            return False
        if self.severity and alert.severity != self.severity:
            return False
        if finding.status != self.status if self.status else finding.status == "resolved":
            return False
        age = now - alert.occurred_at
        if self.age == "older":
            return age > max(AGES.values())
        return self.age not in AGES or age <= AGES[self.age]


def findings(
    engine: Engine, *, teams: Collection[str] | None, child_id: str | None = None, alert_id: str | None = None
) -> list[Finding]:
    """Stored alerts of `teams` (None: all), of one child or one alert if asked, newest first."""
    a, life = alerts_table.c, alert_lifecycle.c
    query = (
        select(alerts_table.c.payload, life.status, life.assignee, life.acknowledged_by, life.resolved_by,
               life.outcome, life.note)
        .select_from(alerts_table.outerjoin(alert_lifecycle, life.alert_id == a.alert_id))
        .order_by(a.occurred_at.desc(), a.alert_id)
    )  # fmt: skip
    if teams is not None:
        query = query.where(a.team.in_(sorted(teams)))
    if child_id is not None:
        query = query.where(a.child_id == child_id)
    if alert_id is not None:
        query = query.where(a.alert_id == alert_id)
    found = []
    with reading(engine) as connection:
        for row in connection.execute(query):
            alert = as_alert(parse_payload(row.payload))
            if alert is not None:
                found.append(Finding(alert, row.status or "open", row.assignee, row.acknowledged_by,
                                     row.resolved_by, row.outcome, row.note))  # fmt: skip
    return found


def worklist(found: list[Finding], filters: Filters, *, now: datetime, policy: WorklistPolicy) -> list[Worklist]:
    """The weekly worklist's lines (one per child, every finding kept merged) over what the
    filters keep, whatever its age: `agents.worklist.build_worklists`, as the weekly message."""
    kept = [f.alert for f in found if filters.keeps(f, now)]
    lists = build_worklists(kept, week_of(now), policy=replace(policy, keep_weeks=None))
    return [lists[team] for team in sorted(lists) if lists[team].lines]


def choices(found: list[Finding]) -> dict[str, list[str]]:
    """The values each filter can take on what the reader sees."""
    return {
        "team": sorted({f.alert.team for f in found}),
        "rule": sorted({f.alert.rule for f in found}),
        "severity": sorted({f.alert.severity for f in found}, key=SEVERITY_RANK.__getitem__),
        "status": list(STATUSES),
    }


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a child's timeline: a case event or an alert raised about the child."""

    at: datetime
    event: TimelineRow | None = None
    finding: Finding | None = None


def sees_child(teams: Collection[str] | None, events: list[TimelineRow], found: list[Finding]) -> bool:
    """Whether a reader of `teams` (None: all) may open the child's timeline: one of their teams
    holds an event of the child, or an alert about it (`found` is already of their teams)."""
    if teams is None:
        return bool(events or found)
    return bool(found) or any(e.team in teams for e in events)


def timeline_entries(events: list[TimelineRow], found: list[Finding]) -> list[TimelineEntry]:
    """Events and alerts, newest first; an alert stands above the event it was raised on (same time)."""
    entries = [TimelineEntry(e.occurred_at, event=e) for e in events]
    entries += [TimelineEntry(f.alert.occurred_at, finding=f) for f in found]
    return sorted(entries, key=_newest_first)


def _newest_first(entry: TimelineEntry) -> tuple[float, int, str]:
    if entry.finding is not None:
        return -entry.at.timestamp(), 0, entry.finding.alert.alert_id
    assert entry.event is not None
    return -entry.at.timestamp(), 1, entry.event.event_id
