"""screening: a "not this person" decision can be revoked (issue #12, R-D2)

Revision ID: 0016_screening_dismissal_revoke
Revises: 0013_screening_decisions
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision = '0016_screening_dismissal_revoke'
down_revision = '0013_screening_decisions'
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('screening_dismissal') as batch:
        batch.add_column(sa.Column('revoked_by', _TEXT(length=120), nullable=True))
        batch.add_column(sa.Column('revoked_at', app.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('revoke_reason', _TEXT(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('screening_dismissal') as batch:
        batch.drop_column('revoke_reason')
        batch.drop_column('revoked_at')
        batch.drop_column('revoked_by')
