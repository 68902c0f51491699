"""Silences: mute the alerts whose labels match, from a start until an expiry.

Created and removed by people (CLI, HTTP API), each change in the audit log. A removed
silence is kept, marked removed, so the log and the list can still say what it muted.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, update

from agents.rules import ALL_RULES
from casewatch.access import DEFAULT_MAX_SILENCE_DAYS
from casewatch.delivery.lifecycle import Conflict, LifecycleError, UnknownSubject, audit, check_actor
from casewatch.delivery.matchers import LabelMatcher, parse_matcher
from casewatch.delivery.routing import Silence
from casewatch.delivery.tables import silences
from casewatch.storage import reading

# A silence must name what it mutes. These values are no team, rule or child ID: a matcher
# that accepts one of them (or the empty value) accepts nearly anything, `rule=~".*"` say.
SCOPING_LABELS = ("team", "rule", "child_id")
PROBES = ("", "0", "zzprobe", "Zz Probe", "ZZ-PROBE-9", "Ω")


def check_not_everything(matchers: list[LabelMatcher]) -> None:
    """Refuse a silence that would mute everything: one matcher at least must pick out teams,
    rules or children (=, =~) and accept none of the probes, nor, for rule, every rule there is."""
    rules = [rule.id for rule in ALL_RULES]
    for m in matchers:
        if m.name not in SCOPING_LABELS or m.operator not in ("=", "=~"):
            continue
        if any(m.matches({m.name: probe}) for probe in PROBES):
            continue
        if m.name == "rule" and all(m.matches({"rule": rule}) for rule in rules):
            continue
        return
    raise LifecycleError(
        'a silence must name what it mutes: a team, a rule or a child (team="CIN East", rule=..., child_id=...); '
        "one that matches every rule and every team would mute every alert"
    )


@dataclass(frozen=True)
class SilenceRow(Silence):
    """A silence with who made it, when, and whether it was removed."""

    created_by: str
    created_at: datetime
    comment: str | None
    removed_at: datetime | None
    removed_by: str | None

    def state(self, now: datetime) -> str:
        if self.removed_at is not None:
            return "removed"
        if now >= self.ends_at:
            return "expired"
        return "active" if self.active(now) else "pending"


def add_silence(
    engine: Engine,
    matchers: list[str],
    *,
    ends_at: datetime,
    actor: str,
    now: datetime,
    starts_at: datetime | None = None,
    comment: str | None = None,
    max_days: int = DEFAULT_MAX_SILENCE_DAYS,
) -> SilenceRow:
    """A new silence, audited; one longer than `max_days` from `now`, or of everything, is refused."""
    check_actor(actor)
    if not matchers:
        raise LifecycleError('a silence needs at least one matcher, e.g. team="CIN East"')
    try:
        parsed = [parse_matcher(m) for m in matchers]
    except ValueError as error:
        raise LifecycleError(str(error)) from None
    check_not_everything(parsed)
    starts_at = starts_at or now
    if ends_at <= starts_at:
        raise LifecycleError("a silence must end after it starts")
    if ends_at > now + timedelta(days=max_days):
        raise LifecycleError(f"ends_at: a silence lasts at most {max_days} days (access.max_silence_days)")
    if comment is not None and len(comment) > 200:
        raise LifecycleError("a silence comment is at most 200 characters")
    with engine.begin() as connection:
        silence_id = connection.execute(
            silences.insert()
            .values(
                matchers=json.dumps([str(m) for m in parsed]), starts_at=starts_at, ends_at=ends_at,
                created_by=actor, created_at=now, comment=comment,
            )
            .returning(silences.c.id)
        ).scalar_one()  # fmt: skip
        detail = {"matchers": [str(m) for m in parsed], "starts_at": starts_at, "ends_at": ends_at}
        audit(connection, actor=actor, action="silence", subject="silence", subject_id=str(silence_id),
              detail=detail, now=now)  # fmt: skip
    return _get(engine, int(silence_id))


def remove_silence(engine: Engine, silence_id: int, *, actor: str, now: datetime) -> SilenceRow:
    check_actor(actor)
    s = silences.c
    with engine.begin() as connection:
        removed = connection.execute(
            update(silences).where(s.id == silence_id, s.removed_at.is_(None)).values(removed_at=now, removed_by=actor)
        )
        if not removed.rowcount:
            exists = connection.execute(select(s.id).where(s.id == silence_id)).first()
            if exists:
                raise Conflict(f"silence {silence_id} was already removed")
            raise UnknownSubject(f"no silence {silence_id}")
        audit(connection, actor=actor, action="unsilence", subject="silence", subject_id=str(silence_id),
              detail={}, now=now)  # fmt: skip
    return _get(engine, silence_id)


def list_silences(engine: Engine, *, include_ended: bool = False, now: datetime) -> list[SilenceRow]:
    s = silences.c
    query = select(silences).order_by(s.id)
    if not include_ended:
        query = query.where(s.removed_at.is_(None), s.ends_at > now)
    with reading(engine) as connection:
        return [_row(r) for r in connection.execute(query)]


def active_silences(connection: Connection, now: datetime) -> list[Silence]:
    s = silences.c
    query = select(silences).where(s.removed_at.is_(None), s.starts_at <= now, s.ends_at > now).order_by(s.id)
    return [_row(r) for r in connection.execute(query)]


def _get(engine: Engine, silence_id: int) -> SilenceRow:
    with reading(engine) as connection:
        return _row(connection.execute(select(silences).where(silences.c.id == silence_id)).one())


def _row(r: Row[Any]) -> SilenceRow:
    values = dict(r._mapping)
    values["matchers"] = tuple(parse_matcher(m) for m in json.loads(values["matchers"]))
    return SilenceRow(**values)
