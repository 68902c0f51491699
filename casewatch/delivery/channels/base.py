"""What every channel shares: the batch it is given, the result it returns, and its protocol.

As in Alertmanager's `Notifier.Notify(ctx, alerts) -> (retry, error)`, a channel sends
one batch and says whether a failure is worth retrying; the dispatcher owns the retries.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol
from urllib.parse import quote

from agents.worklist import MARK_TEXT, Worklist, WorklistItem
from casewatch.delivery.allowlist import AlertView

Kind = Literal["notify", "repeat", "escalate", "worklist"]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Batch:
    """One notification: the alerts of one group for one receiver, already allow-listed."""

    notification_id: int
    idempotency_key: str
    kind: Kind
    receiver: str
    group: dict[str, str] = field(hash=False)
    alerts: tuple[AlertView, ...]
    attempt: int = 1
    worklist: Worklist | None = field(default=None, hash=False)  # kind "worklist": the list, not alerts
    page_url: str | None = None  # the managers' page (routing `page_url`): messages link to it

    def alert_page(self, alert_id: str) -> str | None:
        """The alert's page, when the page's address is configured: ids only in the URL."""
        return f"{self.page_url}/ui/alerts/{alert_id}" if self.page_url else None

    def worklist_page(self) -> str | None:
        """The team's worklist on the page, for a worklist notification."""
        if not self.page_url or self.worklist is None:
            return None
        return f"{self.page_url}/ui/worklist?team={quote(self.worklist.team)}"

    @property
    def severity(self) -> str:
        return min((a.severity for a in self.alerts), key=lambda s: SEVERITY_ORDER.get(s, 9), default="low")

    def headline(self) -> str:
        """A line to triage from: reminder or escalation, top severity, how many, which rules and teams."""
        if self.worklist is not None:
            return worklist_headline(self.worklist)
        prefix = {"notify": "", "repeat": "Reminder: ", "escalate": "ESCALATED: "}[self.kind]
        count = len(self.alerts)
        rules = ", ".join(title(r) for r, _ in Counter(a.rule for a in self.alerts).most_common())
        teams = ", ".join(sorted({a.team for a in self.alerts}))
        noun = "alert" if count == 1 else "alerts"
        return f"{prefix}{self.severity.upper()} {count} {noun}: {rules} ({teams})"


def worklist_headline(worklist: Worklist) -> str:
    """`Worklist CIN East, week 2024-W07: 12 children (3 new, 2 overdue)`."""
    counts = worklist.counts()
    if not counts["lines"]:
        return f"Worklist {worklist.team}, week {worklist.week}: nothing open"
    noun = "line" if counts["lines"] == 1 else "lines"
    return (
        f"Worklist {worklist.team}, week {worklist.week}: {counts['lines']} {noun} "
        f"({counts['new']} new, {counts['overdue']} overdue, {counts['high']} high)"
    )


def finding_text(item: WorklistItem) -> str:
    """`Rereferral after agreement (new, 2024-02-15; agreement id wa-1, referral date 2024-02-15)`."""
    facts = "; ".join(f"{title(k).lower()} {fact_text(v)}" for k, v in item.facts if v not in (None, ""))
    return f"{title(item.rule)} ({MARK_TEXT[item.mark]}, {item.severity}, {item.raised_on.isoformat()}" + (
        f"; {facts})" if facts else ")"
    )


def rules_explained(worklist: Worklist) -> dict[str, tuple[str, str]]:
    """Why and what to do, once per rule on the list, in order of first appearance."""
    found: dict[str, tuple[str, str]] = {}
    for line in worklist.lines:
        for item in line.items:
            found.setdefault(item.rule, (item.explanation, item.action))
    return found


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool = False
    error: str | None = None
    retry_after: timedelta | None = None

    @classmethod
    def sent(cls) -> "SendResult":
        return cls(ok=True)

    @classmethod
    def failed(cls, error: str, *, retryable: bool, retry_after: timedelta | None = None) -> "SendResult":
        return cls(ok=False, retryable=retryable, error=error[:500], retry_after=retry_after)


class Channel(Protocol):
    """Sends one batch. Raises nothing it can describe: a failure is a `SendResult`."""

    kind: str

    def send(self, batch: Batch) -> SendResult: ...


def title(name: str) -> str:
    """`agreement_made` -> `Agreement made`: rule ids and fact names as people read them."""
    return name.replace("_", " ").strip().capitalize()


def fact_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)
