"""case_counts: issue 12, the dashboard's counts per district, department, track, status, "Other" and "came back",
kept as cases are filed and moved (nivaran_intake.case_counts), filled here from the cases already stored

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 16:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_counts',
        sa.Column('district_code', sa.String(length=32), nullable=False),
        sa.Column('routed_department_code', sa.String(length=32), nullable=False),
        sa.Column('track', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('category_is_other', sa.Boolean(), nullable=False),
        sa.Column('returned', sa.Boolean(), nullable=False),
        sa.Column('cases', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            'district_code', 'routed_department_code', 'track', 'status', 'category_is_other', 'returned'
        ),
    )
    returned = "CASE WHEN returns > 0 THEN TRUE ELSE FALSE END"
    op.execute(
        "INSERT INTO case_counts (district_code, routed_department_code, track, status, category_is_other, returned, "
        f"cases) SELECT district_code, routed_department_code, track, status, category_is_other, {returned}, count(*) "
        f"FROM grievances GROUP BY district_code, routed_department_code, track, status, category_is_other, {returned}"
    )


def downgrade() -> None:
    op.drop_table('case_counts')
