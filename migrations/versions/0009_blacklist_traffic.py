"""blacklists on traffic: the invalidation generation and the payer's device on transactions

Revision ID: 0009_blacklist_traffic
Revises: 0008_merchant_figures
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0009_blacklist_traffic'
down_revision = '0008_merchant_figures'
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        'blacklist_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('generation', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(state, [{'id': 1, 'generation': 0, 'changed_at': None}])
    with op.batch_alter_table('payment_transaction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_id', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_transaction_device_id'), ['device_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_transaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_transaction_device_id'))
        batch_op.drop_column('device_id')
    op.drop_table('blacklist_state')
