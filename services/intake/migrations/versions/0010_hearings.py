"""hearings: B7 / M3 / M2, the hearings the lifecycle fixes and records (notice board, attendance)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'hearings',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('grievance_id', sa.String(length=36), nullable=False),
        sa.Column('registration_number', sa.String(length=32), nullable=False),
        sa.Column('district_code', sa.String(length=32), nullable=False),
        sa.Column('hearing_id', sa.String(length=64), nullable=False),
        sa.Column('stage', sa.String(length=16), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('at', sa.String(length=5), nullable=False),
        sa.Column('venue_en', sa.String(length=300), nullable=False),
        sa.Column('venue_hi', sa.String(length=300), nullable=False),
        sa.Column('office_id', sa.String(length=64), nullable=False),
        sa.Column('office_name_en', sa.String(length=300), nullable=False),
        sa.Column('office_name_hi', sa.String(length=300), nullable=False),
        sa.Column('hearing_officer_position_id', sa.String(length=64), nullable=False),
        sa.Column('hearing_officer_title_en', sa.String(length=300), nullable=False),
        sa.Column('hearing_officer_title_hi', sa.String(length=300), nullable=False),
        sa.Column('public_authority_position_id', sa.String(length=64), nullable=False),
        sa.Column('public_authority_title_en', sa.String(length=300), nullable=False),
        sa.Column('public_authority_title_hi', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('complainant_present', sa.Boolean(), nullable=True),
        sa.Column('public_authority_present', sa.Boolean(), nullable=True),
        sa.Column('represented_by', sa.String(length=200), server_default='', nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('grievance_id', 'hearing_id', name='uq_hearing_grievance_hearing'),
    )
    op.create_index('ix_hearings_office_held_on', 'hearings', ['office_id', 'held_on'], unique=False)
    op.create_index('ix_hearings_district_held_on', 'hearings', ['district_code', 'held_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_hearings_district_held_on', table_name='hearings')
    op.drop_index('ix_hearings_office_held_on', table_name='hearings')
    op.drop_table('hearings')
