"""continuous assessment: assessment expiry and the job runner's bookkeeping (reserved; may stay empty)

Revision ID: 0007_continuous_assessment
Revises: 0006_casework
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0007_continuous_assessment'
down_revision = '0006_casework'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', app.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_assessment_expires_at', ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_expires_at')
        batch_op.drop_column('expires_at')
