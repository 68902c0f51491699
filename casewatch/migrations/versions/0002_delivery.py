"""Delivery: the notification outbox, alert lifecycle, silences and the audit log.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("receiver", sa.String(64), nullable=False),
        sa.Column("group_key", sa.String(32), nullable=False),
        sa.Column("group_labels", sa.Text, nullable=False),
        sa.Column("accepting", sa.Boolean, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("flush_at", TIME, nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("leased_by", sa.String(64), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("repeat_enqueued", sa.Boolean, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.UniqueConstraint("receiver", "group_key", "kind", "accepting", name="uq_notifications_open_slot"),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "due_at"])
    op.create_index("ix_notifications_group", "notifications", ["receiver", "group_key"])
    op.create_table(
        "notification_alerts",
        sa.Column("notification_id", sa.Integer, sa.ForeignKey("notifications.id"), primary_key=True),
        sa.Column("alert_id", sa.String(32), sa.ForeignKey("alerts.alert_id"), primary_key=True),
        sa.Column("muted_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_notification_alerts_alert", "notification_alerts", ["alert_id"])
    op.create_table(
        "alert_lifecycle",
        sa.Column("alert_id", sa.String(32), sa.ForeignKey("alerts.alert_id"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.Column("escalated_at", TIME, nullable=True),
    )
    op.create_index("ix_alert_lifecycle_status", "alert_lifecycle", ["status", "opened_at"])
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("matchers", sa.Text, nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("comment", sa.String(200), nullable=True),
        sa.Column("removed_at", TIME, nullable=True),
        sa.Column("removed_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject", "subject_id"])


def downgrade() -> None:
    for table in ("audit_log", "silences", "alert_lifecycle", "notification_alerts", "notifications"):
        op.drop_table(table)
