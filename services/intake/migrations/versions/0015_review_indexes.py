"""review_indexes: issue 12, the review figures and reports read from indexes alone at a million cases: one over
every case for the dashboard's counts, one over the open cases only for the reports by age

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 16:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

OPEN = sa.text("status NOT IN ('disposed', 'rejected', 'closed')")


def upgrade() -> None:
    op.create_index(
        'ix_grievances_review_counts',
        'grievances',
        ['district_code', 'routed_department_code', 'status', 'category_is_other', 'returns', 'track',
         'current_deadline'],
    )
    op.create_index(
        'ix_grievances_open_by_age',
        'grievances',
        ['district_code', 'office_id', 'routed_office_id', 'position_id', 'routed_position_id', 'filed_at',
         'current_deadline', 'department_code', 'routed_department_code', 'track', 'id'],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index('ix_grievances_open_by_age', table_name='grievances')
    op.drop_index('ix_grievances_review_counts', table_name='grievances')
