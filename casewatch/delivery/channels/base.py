"""What every channel shares: the batch it is given, the result it returns, and its protocol.

As in Alertmanager's `Notifier.Notify(ctx, alerts) -> (retry, error)`, a channel sends
one batch and says whether a failure is worth retrying; the dispatcher owns the retries.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

from casewatch.delivery.allowlist import AlertView

Kind = Literal["notify", "repeat", "escalate"]
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

    @property
    def severity(self) -> str:
        return min((a.severity for a in self.alerts), key=lambda s: SEVERITY_ORDER.get(s, 9), default="low")

    def headline(self) -> str:
        """A line to triage from: reminder or escalation, top severity, how many, which rules and teams."""
        prefix = {"notify": "", "repeat": "Reminder: ", "escalate": "ESCALATED: "}[self.kind]
        count = len(self.alerts)
        rules = ", ".join(title(r) for r, _ in Counter(a.rule for a in self.alerts).most_common())
        teams = ", ".join(sorted({a.team for a in self.alerts}))
        noun = "alert" if count == 1 else "alerts"
        return f"{prefix}{self.severity.upper()} {count} {noun}: {rules} ({teams})"


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
