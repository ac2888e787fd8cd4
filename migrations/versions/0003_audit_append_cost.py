"""audit: drop the unique indexes on hash and prev_hash (append cost)

Every verification appends an audit event, and each append paid for two more b-trees keyed by
random SHA-256 values: every insert landed on a random page of each, which more than doubled
the cost of a batch (measured: 143 → 72 µs per event on SQLite with 50,000 events).

They guarded nothing the chain does not already guarantee: ``seq`` stays unique, every append
holds the chain lock (SQLite's write lock, PostgreSQL's advisory lock) and takes the hash of
the event at ``seq - 1`` as its ``prev_hash``, so a fork would need two events with one
``seq``; and ``kybgate audit verify`` recomputes every link.

On SQLite a constraint can only go with a table rebuild: the rows are copied into a new table
(batch mode), the append-only triggers are dropped with the old table and created again.

Revision ID: 0003_audit_append_cost
Revises: 0002_keys
"""
from alembic import op

revision = '0003_audit_append_cost'
down_revision = '0002_keys'
branch_labels = None
depends_on = None

# Names for the reflected, unnamed UNIQUE constraints of SQLite's table (PostgreSQL's own
# default names are audit_event_hash_key and audit_event_prev_hash_key).
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
APPEND_ONLY = "audit_event is append-only: UPDATE and DELETE are refused"


def _sqlite_guards() -> None:
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("audit_event", naming_convention=NAMING,
                                  recreate="always") as batch:
            batch.drop_constraint("uq_audit_event_hash", type_="unique")
            batch.drop_constraint("uq_audit_event_prev_hash", type_="unique")
        _sqlite_guards()
        return
    op.drop_constraint("audit_event_hash_key", "audit_event", type_="unique")
    op.drop_constraint("audit_event_prev_hash_key", "audit_event", type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("audit_event", recreate="always") as batch:
            batch.create_unique_constraint("uq_audit_event_hash", ["hash"])
            batch.create_unique_constraint("uq_audit_event_prev_hash", ["prev_hash"])
        _sqlite_guards()
        return
    op.create_unique_constraint("audit_event_hash_key", "audit_event", ["hash"])
    op.create_unique_constraint("audit_event_prev_hash_key", "audit_event", ["prev_hash"])
