"""inbound_email: C1 / B3, an inbound message may be an email: the sender's address, its subject, the address it was
sent to, the sender's name, the files that came with it (their bytes in the blob store) and whether a machine sent
it, all stored before it is read

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.alter_column(
            'sender', existing_type=sa.String(length=20), type_=sa.String(length=254), existing_nullable=False
        )
        batch_op.add_column(sa.Column('subject', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('recipient', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('sender_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('files', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('automatic', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('automatic')
        batch_op.drop_column('files')
        batch_op.drop_column('sender_name')
        batch_op.drop_column('recipient')
        batch_op.drop_column('subject')
        batch_op.alter_column(
            'sender', existing_type=sa.String(length=254), type_=sa.String(length=20), existing_nullable=False
        )
