"""casework: alert workflow (in_review, disposition, escalation, case), cases, notes, attachments,
information requests to the merchant, scenario snoozes, STR filing

Revision ID: 0006_casework
Revises: 0005_spend_totals
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision = '0006_casework'
down_revision = '0005_spend_totals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_snooze',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('merchant_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('scenario', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('until', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_snooze', schema=None) as batch_op:
        batch_op.create_index('ix_alert_snooze_merchant_scenario', ['merchant_id', 'scenario'], unique=False)

    op.create_table('case_file',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('merchant_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('opened_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('opened_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('narrative', sa.Text(), nullable=True),
    sa.Column('close_requested_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('close_requested_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('close_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('closed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('str_reference', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('str_filed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('str_filed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('str_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_file_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index('ix_case_status_due', ['status', 'due_at'], unique=False)

    op.create_table('case_attachment',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('uploaded_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_attachment_case_id'), ['case_id'], unique=False)

    op.create_table('case_note',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_note_case_id'), ['case_id'], unique=False)

    op.create_table('information_request',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('merchant_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('requested_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('answered_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], ),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('information_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_information_request_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_information_request_merchant_id'), ['merchant_id'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occurred_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('disposition', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key('fk_alert_case_id', 'case_file', ['case_id'], ['id'])

    # Alerts opened before this revision: their clock ran from when they were opened.
    op.execute("UPDATE alert SET occurred_at = opened_at WHERE occurred_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint('fk_alert_case_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alert_case_id'))
        batch_op.drop_column('closed_by')
        batch_op.drop_column('disposition')
        batch_op.drop_column('case_id')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('occurred_at')

    with op.batch_alter_table('information_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_information_request_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_information_request_case_id'))

    op.drop_table('information_request')
    with op.batch_alter_table('case_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_note_case_id'))

    op.drop_table('case_note')
    with op.batch_alter_table('case_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_attachment_case_id'))

    op.drop_table('case_attachment')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index('ix_case_status_due')
        batch_op.drop_index(batch_op.f('ix_case_file_merchant_id'))

    op.drop_table('case_file')
    with op.batch_alter_table('alert_snooze', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_snooze_merchant_scenario')

    op.drop_table('alert_snooze')
