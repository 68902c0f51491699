"""A resolution records its outcome (from the configured list) and an optional short note.

The note is the manager's own words about a child: it stays in this table, and no channel,
log, topic or audit entry carries it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_lifecycle") as batch:
        batch.add_column(sa.Column("outcome", sa.String(64), nullable=True))
        batch.add_column(sa.Column("note", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_lifecycle") as batch:
        batch.drop_column("note")
        batch.drop_column("outcome")
