"""keys: running totals of accepted amounts per key and merchant, per UTC day and month (R-E5)

Revision ID: 0005_spend_totals
Revises: 0004_key_limit_increase
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0005_spend_totals'
down_revision = '0004_key_limit_increase'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'spend_total',
        sa.Column('subject', sa.String(length=60), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount', app.db.Money(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('subject', 'period', 'currency'),
    )


def downgrade() -> None:
    op.drop_table('spend_total')
