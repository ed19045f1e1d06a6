"""weekly_review_indexes: issue 12, M1's show-cause and breach counts from a partial index of those timeline events
alone, and H4's category trends per department and month from an index of the filings by department

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:10:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

REVIEW_EVENTS = sa.text("event_type IN ('show_cause_issued', 'show_cause_replied', 'breach_recorded')")


def upgrade() -> None:
    op.create_index(
        'ix_timeline_review_events',
        'timeline_events',
        ['occurred_at', 'grievance_id', 'event_type'],
        postgresql_where=REVIEW_EVENTS,
        sqlite_where=REVIEW_EVENTS,
    )
    op.create_index(
        'ix_grievances_category_trends',
        'grievances',
        ['routed_department_code', 'filed_at', 'category_code', 'category_is_other', 'district_code', 'id'],
    )


def downgrade() -> None:
    op.drop_index('ix_grievances_category_trends', table_name='grievances')
    op.drop_index('ix_timeline_review_events', table_name='timeline_events')
