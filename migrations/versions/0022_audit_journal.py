"""audit: how far the host's audit writer has shipped each worker journal (issue #14)

Revision ID: 0022_audit_journal
Revises: 0021_spend_leases
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0022_audit_journal'
down_revision = '0021_spend_leases'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_journal',
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('events', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('audit_journal')
