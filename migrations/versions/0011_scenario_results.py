"""monitoring: the latest judgement of each scenario per merchant, including insufficient_data

Also the payment-account fields of a transaction that the R-C10 account scenarios read
(account_ref, account_opened_at, account_type, holder's birth year, counterparty_ref, keyed
digests of the account's e-mail and phone, the phone's and the IP's country).

Revision ID: 0011_scenario_results
Revises: 0010_webhooks
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision = '0011_scenario_results'
down_revision = '0010_webhooks'
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('scenario_result',
    sa.Column('id', _TEXT(length=40), nullable=False),
    sa.Column('merchant_id', _TEXT(length=40), nullable=False),
    sa.Column('stream', _TEXT(length=20), nullable=False),
    sa.Column('scenario', _TEXT(length=60), nullable=False),
    sa.Column('status', _TEXT(length=20), nullable=False),
    sa.Column('reason', _TEXT(length=300), nullable=True),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('policy_version', _TEXT(length=40), nullable=False),
    sa.Column('evaluated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('merchant_id', 'stream', 'scenario', name='uq_scenario_result')
    )
    with op.batch_alter_table('scenario_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenario_result_merchant_id'), ['merchant_id'],
                              unique=False)

    with op.batch_alter_table('payment_transaction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_ref', _TEXT(length=120), nullable=True))
        batch_op.add_column(sa.Column('account_opened_at', app.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('account_type', _TEXT(length=10), nullable=True))
        batch_op.add_column(sa.Column('account_holder_birth_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('counterparty_ref', _TEXT(length=120), nullable=True))
        batch_op.add_column(sa.Column('account_email_hash', _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column('account_phone_hash', _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column('phone_country', _TEXT(length=2), nullable=True))
        batch_op.add_column(sa.Column('ip_country', _TEXT(length=2), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_transaction_account_email_hash'),
                              ['account_email_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_transaction_account_phone_hash'),
                              ['account_phone_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_transaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_transaction_account_phone_hash'))
        batch_op.drop_index(batch_op.f('ix_payment_transaction_account_email_hash'))
        for column in ('ip_country', 'phone_country', 'account_phone_hash', 'account_email_hash',
                       'counterparty_ref', 'account_holder_birth_year', 'account_type',
                       'account_opened_at', 'account_ref'):
            batch_op.drop_column(column)

    with op.batch_alter_table('scenario_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenario_result_merchant_id'))

    op.drop_table('scenario_result')
