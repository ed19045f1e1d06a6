"""camp_received_on: S1, the day a camp took a paper application its staff filed later

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('camp_received_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_column('camp_received_on')
