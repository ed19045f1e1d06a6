"""department clients (service_clients); who disabled an account

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_clients',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_account_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_by_account_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('service_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_clients_department_code'), ['department_code'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('disabled_by_account_id', sa.String(length=36), nullable=False, server_default='')
        )


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('disabled_by_account_id')

    with op.batch_alter_table('service_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_clients_department_code'))

    op.drop_table('service_clients')
