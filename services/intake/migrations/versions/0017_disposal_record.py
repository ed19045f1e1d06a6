"""disposal_record: M5 / S18, when a case last ended (disposed_at) and how many deadlines it missed (breaches), kept by
the projection and filled here from the timelines of the cases stored before

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 17:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breaches', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_grievances_disposed_at', ['district_code', 'disposed_at'], unique=False)
    op.execute(
        "UPDATE grievances SET breaches = (SELECT count(*) FROM timeline_events t WHERE t.grievance_id = grievances.id "
        "AND t.event_type = 'breach_recorded')"
    )
    op.execute(
        # The last disposal or rejection on the timeline; a case closed otherwise (a duplicate, say): its last change.
        "UPDATE grievances SET disposed_at = coalesce((SELECT max(t.occurred_at) FROM timeline_events t "
        "WHERE t.grievance_id = grievances.id AND t.event_type IN ('disposed', 'rejected')), updated_at) "
        "WHERE status IN ('disposed', 'rejected', 'closed')"
    )


def downgrade() -> None:
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_index('ix_grievances_disposed_at')
        batch_op.drop_column('disposed_at')
        batch_op.drop_column('breaches')
