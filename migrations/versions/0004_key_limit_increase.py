"""keys: a requested limit increase waits before it takes effect (R-E5)

Revision ID: 0004_key_limit_increase
Revises: 0003_audit_append_cost
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0004_key_limit_increase'
down_revision = '0003_audit_append_cost'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raised_limits', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('raised_limits_at', app.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('raised_limits_at')
        batch_op.drop_column('raised_limits')
