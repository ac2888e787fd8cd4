"""audit: index the trail by (merchant_id, target_id)

The STR package anchors each of its items by the merchant's events that target the item
(``app.services.str_report.anchors.events_by_target``) and a case's timeline reads the events
of the case, of its alerts and of the merchant-level changes it caused
(``app.services.cases.timeline``); both ask for ``merchant_id = ? AND target_id IN (…)``. With
only ``ix_audit_merchant_at`` that read every event of the merchant (every verification too);
this index makes both lookups index range scans.

A plain CREATE INDEX: no table rebuild, so SQLite's append-only triggers (re-created by 0003)
and PostgreSQL's are untouched.

Revision ID: 0012_audit_target_index
Revises: 0011_scenario_results
"""
from alembic import op

revision = '0012_audit_target_index'
down_revision = '0011_scenario_results'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_merchant_target', 'audit_event', ['merchant_id', 'target_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_merchant_target', table_name='audit_event')
