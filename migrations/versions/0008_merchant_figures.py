"""risk on ingest: a merchant's running figures (turnover since activation, ticket distribution)

Revision ID: 0008_merchant_figures
Revises: 0007_continuous_assessment
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision = '0008_merchant_figures'
down_revision = '0007_continuous_assessment'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merchant_figures',
    sa.Column('merchant_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('activated_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('sales_try', app.db.Money(), nullable=False),
    sa.Column('window_turnover', sa.JSON(), nullable=False),
    sa.Column('ticket_buckets', sa.JSON(), nullable=False),
    sa.Column('ticket_min', app.db.Money(), nullable=True),
    sa.Column('ticket_max', app.db.Money(), nullable=True),
    sa.Column('reference_try', app.db.Money(), nullable=True),
    sa.Column('reference_assessment_id', sqlmodel.sql.sqltypes.AutoString(length=40),
              nullable=True),
    sa.Column('pending', sa.JSON(), nullable=False),
    sa.Column('last_sale_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('merchant_id')
    )
    op.create_table('merchant_day_sales',
    sa.Column('merchant_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('sales_try', app.db.Money(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('merchant_id', 'day')
    )
    with op.batch_alter_table('merchant_day_sales', schema=None) as batch_op:
        batch_op.create_index('ix_merchant_day_sales_day', ['day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('merchant_day_sales', schema=None) as batch_op:
        batch_op.drop_index('ix_merchant_day_sales_day')
    op.drop_table('merchant_day_sales')
    op.drop_table('merchant_figures')
