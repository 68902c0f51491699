"""Children's timelines: one row per case event, ids, dates and codes only (casewatch/timeline.py).

Keyed by child and event id (a redelivered event is stored once), indexed by child and time
for the managers' page, and by the time stored for retention.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timeline_events",
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=True),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("codes", sa.Text, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_timeline_events_child_occurred", "timeline_events", ["child_id", "occurred_at"])
    op.create_index("ix_timeline_events_stored_at", "timeline_events", ["stored_at"])


def downgrade() -> None:
    op.drop_index("ix_timeline_events_stored_at", table_name="timeline_events")
    op.drop_index("ix_timeline_events_child_occurred", table_name="timeline_events")
    op.drop_table("timeline_events")
