"""dead letters and delivery receipts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    # Deliveries already FAILED last changed when they failed.
    op.execute("UPDATE deliveries SET failed_at = updated_at WHERE state = 'failed'")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_channel_provider_message_id", ["channel", "provider_message_id"], unique=False
        )
        batch_op.create_index("ix_deliveries_state_failed_at", ["state", "failed_at"], unique=False)
        batch_op.create_index(
            "ix_deliveries_address_kept",
            ["updated_at"],
            unique=False,
            postgresql_where=sa.text("address IS NOT NULL"),
            sqlite_where=sa.text("address IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_address_kept")
        batch_op.drop_index("ix_deliveries_state_failed_at")
        batch_op.drop_index("ix_deliveries_channel_provider_message_id")
        batch_op.drop_column("failed_at")
