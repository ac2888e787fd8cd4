"""keys: how much of each running total's limit the hosts have leased, in all (issue #14
item 3; R-E5): each host charges from a slice it leased and gives back what it did not spend

Revision ID: 0021_spend_leases
Revises: 0020_sealed_snapshots
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0021_spend_leases'
down_revision = '0020_sealed_snapshots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'spend_lease',
        sa.Column('subject', sa.String(length=60), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('leased', app.db.Money(), nullable=False),
        sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('subject', 'period', 'currency'),
    )


def downgrade() -> None:
    op.drop_table('spend_lease')
