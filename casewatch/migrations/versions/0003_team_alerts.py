"""Team-level alerts (team_rereferral_rate_high) concern a team, not a child: child_id may be null.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot alter a column in place, so Alembic copies the table.
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("child_id", existing_type=sa.String(64), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("child_id", existing_type=sa.String(64), nullable=False)
