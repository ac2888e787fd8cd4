"""screening: analysts' "not this person" decisions on screening hits (issue #12 item 3)

Revision ID: 0013_screening_decisions
Revises: 0012_audit_target_index
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision = '0013_screening_decisions'
down_revision = '0012_audit_target_index'
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('screening_dismissal',
    sa.Column('id', _TEXT(length=40), nullable=False),
    sa.Column('merchant_id', _TEXT(length=40), nullable=False),
    sa.Column('subject_role', _TEXT(length=20), nullable=False),
    sa.Column('subject', _TEXT(length=300), nullable=False),
    sa.Column('subject_digest', _TEXT(length=64), nullable=False),
    sa.Column('list_name', _TEXT(length=120), nullable=False),
    sa.Column('entry_id', _TEXT(length=80), nullable=False),
    sa.Column('entry_name', _TEXT(length=300), nullable=False),
    sa.Column('entry_digest', _TEXT(length=64), nullable=False),
    sa.Column('strong', sa.Boolean(), nullable=False),
    sa.Column('status', _TEXT(length=20), nullable=False),
    sa.Column('reason', _TEXT(length=1000), nullable=False),
    sa.Column('dismissed_by', _TEXT(length=120), nullable=False),
    sa.Column('dismissed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', _TEXT(length=120), nullable=True),
    sa.Column('confirmed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_screening_dismissal_lookup', 'screening_dismissal',
                    ['merchant_id', 'list_name', 'entry_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_screening_dismissal_lookup', table_name='screening_dismissal')
    op.drop_table('screening_dismissal')
