"""watch_item: M4, the open watch item of an ended case, and when it opened

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('watch_item', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('watch_opened_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_column('watch_opened_at')
        batch_op.drop_column('watch_item')
