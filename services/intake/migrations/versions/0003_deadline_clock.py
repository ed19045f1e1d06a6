"""deadline clock and the deadline-ordered work list

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_clock', sa.String(length=64), server_default='', nullable=False))
        batch_op.create_index(
            'ix_grievances_current_deadline', ['current_deadline', 'filed_at', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_index('ix_grievances_current_deadline')
        batch_op.drop_column('deadline_clock')
