"""service_application: S4, the service application a service-delay complaint is about

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:25:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_application', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_column('service_application')
