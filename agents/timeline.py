"""A child's timeline: each case event as the row the managers' page shows, ids, dates and codes only.

The page shows a manager what happened to a child (referrals, assessments and their
factors, plans, agreements with their reviews and breaches, closures) beside the alerts.
The row keeps what an allow-list names per event type, never the whole event: a field
added to an event later stays out of the database until someone decides it belongs
(tests/test_agents/test_timeline.py fails until then). Pure: no Kafka, no database.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas.events import CaseEvent
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.codec import Forward, Rejection, decode_message
from streams.topics import Topics

Code = str | int | bool | list[str]

# Per event type, the fields a row keeps: codes, dates, flags and counts (shared/DOMAIN.md).
KEPT: dict[str, tuple[str, ...]] = {
    "contact": ("concerns",),
    "referral": ("referral_source", "primary_need", "concerns", "nfa", "referrals_last_12_months"),
    "assessment": ("started_on", "factors", "child_seen", "child_seen_alone", "child_views_recorded"),
    "strategy_discussion": (),
    "section47": ("icpc_date",),
    "plan": ("plan_type", "categories", "previous_plans"),
    "agreement": ("agreement_type", "context", "review_due", "review_outcome", "accompanies_closure", "owner_team"),
    "closure": ("reason",),
}
# What the row is about, when the event is one step of something with an id of its own.
ITEM_ID = {"assessment": "assessment_id", "section47": "enquiry_id", "plan": "plan_id", "agreement": "agreement_id"}
# Fields left out on purpose: the row's own columns, where the event came from, and what the
# page does not need (plan outcomes' flags are for the QA report; a worker id is not a code).
LEFT_OUT = frozenset(
    {"schema_version", "event_id", "child_id", "occurred_at", "team", "event_type", "action", "recorded_at",
     "source", "outcomes", "owner_worker_id", *ITEM_ID.values()}
)  # fmt: skip


@dataclass(frozen=True)
class TimelineRow:
    """One case event on a child's timeline; `codes` holds only the kept fields that have a value."""

    event_id: str
    child_id: str
    event_type: str
    team: str
    occurred_at: datetime
    item_id: str | None
    action: str | None
    codes: dict[str, Code]


def timeline_row(event: CaseEvent) -> TimelineRow:
    """The event's row: its ids, team, time, the step (started, made, breached...) and its kept codes."""
    # The model's fields by name, read once: a pydantic attribute an event type lacks
    # (`action` on a referral) goes through a slow __getattr__ miss, once per event.
    fields = event.__dict__
    codes: dict[str, Code] = {}
    for name in KEPT[event.event_type]:
        value = _code(fields[name])
        if value is not None:
            codes[name] = value
    item = ITEM_ID.get(event.event_type)
    action = fields.get("action")
    return TimelineRow(
        event_id=event.event_id,
        child_id=event.child_id,
        event_type=event.event_type,
        team=event.team,
        occurred_at=event.occurred_at,
        item_id=fields[item] if item else None,
        action=str(action) if action is not None else None,
        codes=codes,
    )


def timeline_rows(records: Iterable[Any], *, topics: Topics, policy: InputPolicy = DEFAULT_POLICY) -> list[TimelineRow]:
    """The rows of the input records that decode (key, value, topic, partition, headers), as the
    correlate agent decodes them; what it dead-letters is skipped here. An event found on the
    wrong partition is kept: its forwarded copy has the same event id, so it is stored once."""
    rows = []
    for record in records:
        read = decode_message(record.value, key=record.key, topic=record.topic, partition=record.partition,
                              topics=topics, policy=policy, headers=record.headers)  # fmt: skip
        if isinstance(read, Rejection):
            continue
        rows.append(timeline_row(read.event if isinstance(read, Forward) else read))
    return rows


def _code(value: object) -> Code | None:
    """A kept field as the row stores it (dates as ISO text); None and empty lists are left out."""
    if value is None:
        return None
    if isinstance(value, (bool, int, str)):  # the common case first (a tuple: faster than a union)
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value) or None
    raise TypeError(f"a timeline code must be a code, a date, a flag or a count, not {type(value).__name__}")
