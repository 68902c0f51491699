"""What an event must be, beyond its contract, to enter casewatch: one check for every door.

The HTTP endpoint, JSON-lines and statutory-file ingest, and the worker's decode of topic
messages all pass each valid event through `InputPolicy.admit`, so a future date, a child
ID outside the council's pattern or a team the council does not have is refused the same
way wherever it arrives. Reasons name the field and the problem, never the value.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.events import CLOCK_SKEW, CaseEvent
from streams.rejection import Rejection


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class InputPolicy:
    """The council's rules for admitting an event (YAML `input:` and `teams:`, see docs/security.md).

    - `skew`: how far past our clock an event may be dated (occurred_at or recorded_at):
      case systems' clocks drift a little; a date beyond that is a typing error or an attack,
      and one such date would otherwise make the child's real events look old.
    - `child_id_pattern`: when set, every child_id must match it whole (the contract already
      refuses UPN shapes and anything not an opaque token).
    - `teams`: when set, the only teams events may name; an unknown team is refused, or, with
      `unknown_team`, replaced by that placeholder (it must itself be in the list), never passed on.
    """

    skew: timedelta = CLOCK_SKEW
    child_id_pattern: re.Pattern[str] | None = None
    teams: frozenset[str] | None = None
    unknown_team: str | None = None
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)

    def admit(self, event: CaseEvent) -> CaseEvent | Rejection:
        """The event as it may travel on (its team perhaps replaced), or why it may not."""
        limit = self.clock() + self.skew
        for name in ("occurred_at", "recorded_at"):
            if getattr(event, name) > limit:
                return Rejection(
                    "future_date",
                    f"{name}: is more than {_span(self.skew)} after the time it arrived, "
                    "so it cannot have happened yet",
                )
        if self.child_id_pattern is not None and not self.child_id_pattern.fullmatch(event.child_id):
            return Rejection(
                "child_id", "child_id: does not match the configured child ID pattern (input.child_id_pattern)"
            )
        if self.teams is None:
            return event
        updates: dict[str, str] = {}
        for name in ("team", "owner_team"):
            value = getattr(event, name, None)
            if value is None or value in self.teams:
                continue
            if self.unknown_team is None:
                return Rejection("unknown_team", f"{name}: is not one of the configured teams (teams:)")
            updates[name] = self.unknown_team
        return event.model_copy(update=updates) if updates else event


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} day{'s' if hours != 24 else ''}" if hours % 24 == 0 else f"{hours:g} hours"


DEFAULT_POLICY = InputPolicy()
