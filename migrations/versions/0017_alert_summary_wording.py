"""alert: the summary's template and values, so the console writes it in Turkish (issue #11)

Revision ID: 0017_alert_summary_wording
Revises: 0016_screening_dismissal_revoke
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_alert_summary_wording'
down_revision = '0016_screening_dismissal_revoke'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert') as batch:
        batch.add_column(sa.Column('summary_wording', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert') as batch:
        batch.drop_column('summary_wording')
