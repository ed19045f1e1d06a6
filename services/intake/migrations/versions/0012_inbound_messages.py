"""inbound_messages: C2 / B3, the SMS a citizen sends to file or to ask a case's status, stored before it is read

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbound_messages',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('sender', sa.String(length=20), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('provider_message_id', sa.String(length=128), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('registration_number', sa.String(length=32), nullable=True),
        sa.Column('reply_en', sa.Text(), nullable=True),
        sa.Column('reply_hi', sa.Text(), nullable=True),
        sa.Column('grievance_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'provider_message_id', name='uq_inbound_message_provider_id'),
    )
    op.create_index(
        'ix_inbound_messages_sender_stored_at', 'inbound_messages', ['sender', 'stored_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_inbound_messages_sender_stored_at', table_name='inbound_messages')
    op.drop_table('inbound_messages')
