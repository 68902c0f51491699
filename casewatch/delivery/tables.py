"""The delivery tables, on the same metadata as the alerts table (migration 0002 creates them).

- `notifications` is the outbox: one row per message to one receiver about one group of
  alerts. While `accepting` is true, alerts routed to the same group join it; claiming it
  for sending sets `accepting` to NULL, and the unique (receiver, group_key, kind,
  accepting) index, which lets NULLs repeat, keeps at most one open row per group.
- `notification_alerts` says which alerts a notification carries, and why one was left
  out at send time (`muted_by`: a silence, an inhibiting alert, or its acknowledgement).
- `alert_lifecycle` holds what people do with an alert; `audit_log` who did what, when.
- `silences` mute alerts whose labels match, until they expire or are removed.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from casewatch.storage import metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps no offset, so it is put back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("casewatch stores aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # notify | repeat | escalate
    Column("route", String(64), nullable=False),
    Column("receiver", String(64), nullable=False),
    Column("group_key", String(32), nullable=False),
    Column("group_labels", Text, nullable=False),
    Column("accepting", Boolean, nullable=True),
    Column("status", String(16), nullable=False),  # pending | sending | sent | failed | muted
    Column("flush_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("leased_by", String(64), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("repeat_enqueued", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    UniqueConstraint("receiver", "group_key", "kind", "accepting", name="uq_notifications_open_slot"),
    Index("ix_notifications_due", "status", "due_at"),
    Index("ix_notifications_group", "receiver", "group_key"),
)

notification_alerts = Table(
    "notification_alerts",
    metadata,
    Column("notification_id", Integer, ForeignKey("notifications.id"), primary_key=True),
    Column("alert_id", String(32), ForeignKey("alerts.alert_id"), primary_key=True),
    Column("muted_by", String(64), nullable=True),
    Index("ix_notification_alerts_alert", "alert_id"),
)

alert_lifecycle = Table(
    "alert_lifecycle",
    metadata,
    Column("alert_id", String(32), ForeignKey("alerts.alert_id"), primary_key=True),
    Column("status", String(16), nullable=False),  # open | acknowledged | resolved
    Column("assignee", String(64), nullable=True),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(64), nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("outcome", String(64), nullable=True),  # from the configured list, when resolved
    Column("note", String(200), nullable=True),  # the resolver's words: never leaves the database
    Index("ix_alert_lifecycle_status", "status", "opened_at"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("matchers", Text, nullable=False),  # JSON list of "label=value" strings
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("comment", String(200), nullable=True),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removed_by", String(64), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(16), nullable=False),  # alert | silence | notification
    Column("subject_id", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # JSON: what changed, from what to what
    Index("ix_audit_log_subject", "subject", "subject_id"),
)
