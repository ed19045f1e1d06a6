"""officers, postings, delegations, tokens, login audit

Existing accounts (none were issued before this revision) get server defaults for the new NOT NULL columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:20:12.182692
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_audit', schema=None) as batch_op:
        batch_op.create_index('ix_login_audit_subject_at', ['method', 'subject', 'occurred_at'], unique=False)

    op.create_table('officer_registrations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('position_id', sa.String(length=64), nullable=False),
    sa.Column('position_role', sa.String(length=32), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('district_code', sa.String(length=32), nullable=False),
    sa.Column('charge_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_account_id', sa.String(length=36), nullable=False),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('officer_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_officer_registrations_district_state', ['district_code', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_officer_registrations_username'), ['username'], unique=False)

    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_pem_encrypted', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid')
    )
    op.create_table('delegations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('delegator_account_id', sa.String(length=36), nullable=False),
    sa.Column('delegate_account_id', sa.String(length=36), nullable=False),
    sa.Column('powers', sa.JSON(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_account_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['delegate_account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['delegator_account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delegations_delegate_account_id'), ['delegate_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delegations_delegator_account_id'), ['delegator_account_id'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('position_id', sa.String(length=64), nullable=False),
    sa.Column('position_role', sa.String(length=32), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('district_code', sa.String(length=32), nullable=False),
    sa.Column('charge_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('relinquished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transfer_order_number', sa.String(length=100), nullable=False),
    sa.Column('transfer_order_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_position_id'), ['position_id'], unique=False)
        batch_op.create_index('uq_postings_open_position', ['position_id'], unique=True, sqlite_where=sa.text('relinquished_at IS NULL'), postgresql_where=sa.text('relinquished_at IS NULL'))

    op.create_table('refresh_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_family_id'), ['family_id'], unique=False)

    op.create_table('charge_handovers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('posting_id', sa.String(length=36), nullable=False),
    sa.Column('position_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('charge_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cases_rebased', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('posting_id')
    )
    with op.batch_alter_table('charge_handovers', schema=None) as batch_op:
        batch_op.create_index('ix_charge_handovers_state_next', ['state', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('password_hash', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_secret_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('extra_roles', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('department_code', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('district_code', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('disabled_reason', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('preferred_language', sa.String(length=8), nullable=False, server_default='hi'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_accounts_kind_phone', ['kind', 'phone'])
        batch_op.create_unique_constraint('uq_accounts_username', ['username'])



def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_accounts_username', type_='unique')
        batch_op.drop_constraint('uq_accounts_kind_phone', type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('preferred_language')
        batch_op.drop_column('disabled_reason')
        batch_op.drop_column('active')
        batch_op.drop_column('district_code')
        batch_op.drop_column('department_code')
        batch_op.drop_column('extra_roles')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret_encrypted')
        batch_op.drop_column('password_hash')
        batch_op.drop_column('email')
        batch_op.drop_column('phone')
        batch_op.drop_column('username')

    with op.batch_alter_table('charge_handovers', schema=None) as batch_op:
        batch_op.drop_index('ix_charge_handovers_state_next')

    op.drop_table('charge_handovers')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_family_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_account_id'))

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index('uq_postings_open_position', sqlite_where=sa.text('relinquished_at IS NULL'), postgresql_where=sa.text('relinquished_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_postings_position_id'))
        batch_op.drop_index(batch_op.f('ix_postings_account_id'))

    op.drop_table('postings')
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delegations_delegator_account_id'))
        batch_op.drop_index(batch_op.f('ix_delegations_delegate_account_id'))

    op.drop_table('delegations')
    op.drop_table('signing_keys')
    with op.batch_alter_table('officer_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_registrations_username'))
        batch_op.drop_index('ix_officer_registrations_district_state')

    op.drop_table('officer_registrations')
    with op.batch_alter_table('login_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_login_audit_subject_at')

    op.drop_table('login_audit')
