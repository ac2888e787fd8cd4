"""keys: audit indexes for per-key daily spend and per-IP / per-customer API anomaly counts

Revision ID: 0002_keys
Revises: 0001
"""
from alembic import op

revision = '0002_keys'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Daily spend of a key (limits, R-E5) and the R-B6 counts read today's verification events
    # by key, by source IP and by customer ref; without these they scan the whole day.
    op.create_index('ix_audit_key_at', 'audit_event', ['key_id', 'at'])
    op.create_index('ix_audit_merchant_ip_at', 'audit_event', ['merchant_id', 'source_ip', 'at'])


def downgrade() -> None:
    op.drop_index('ix_audit_merchant_ip_at', table_name='audit_event')
    op.drop_index('ix_audit_key_at', table_name='audit_event')
