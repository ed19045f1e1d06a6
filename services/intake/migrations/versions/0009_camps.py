"""camps: S1, the Sahyog camps the DM sets per panchayat

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:35:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'camps',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('district_code', sa.String(length=16), nullable=False),
        sa.Column('block_code', sa.String(length=64), server_default='', nullable=False),
        sa.Column('panchayat_code', sa.String(length=64), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('venue_en', sa.String(length=300), nullable=False),
        sa.Column('venue_hi', sa.String(length=300), nullable=False),
        sa.Column('created_by_account_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('panchayat_code', 'held_on', name='uq_camp_panchayat_day'),
    )
    op.create_index('ix_camps_district_held_on', 'camps', ['district_code', 'held_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_camps_district_held_on', table_name='camps')
    op.drop_table('camps')
