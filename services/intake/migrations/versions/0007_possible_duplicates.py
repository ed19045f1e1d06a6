"""possible_duplicates: earlier cases a filing may repeat, found at filing (issue 10)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:15:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('possible_duplicates', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_column('possible_duplicates')
