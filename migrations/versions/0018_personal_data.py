"""personal data: persons' names, birth dates and full national ids sealed under KYB_DATA_KEYS,
keyed blind indexes for the shared-ownership lookups, retention dates and tombstones (issue #13)

Existing rows are sealed here with the keys the application will use (``KYB_DATA_KEYS``, or
the instance folder's generated keys outside production), their name indexes computed from
the clear name; their national-id index keeps the pre-0018 pepper hash until the same id is
submitted again (``heal_legacy_national_id``): the full id was never stored, so it cannot be
recomputed, and pre-0018 persons have no sealed full id.

Revision ID: 0018_personal_data
Revises: 0017_alert_summary_wording
"""
import datetime as dt

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.crypto.sealed
import app.db

revision = '0018_personal_data'
down_revision = '0017_alert_summary_wording'
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString

_old = sa.table("person", sa.column("id", sa.String), sa.column("full_name", sa.String),
                sa.column("birth_date", sa.Date), sa.column("national_id_hash", sa.String))
_new = sa.table("person", sa.column("id", sa.String), sa.column("full_name_sealed", sa.Text),
                sa.column("birth_date_sealed", sa.Text), sa.column("name_index", sa.String),
                sa.column("name_birth_index", sa.String),
                sa.column("national_id_index", sa.String))


def _keys():
    """The application's data keys, loaded only when there are rows to seal."""
    from app.config import Settings
    from app.crypto.data_keys import load_data_keys
    settings = Settings.from_env()
    return load_data_keys(settings.data_keys, instance_path=settings.instance_path,
                          production=settings.env == "production")


def upgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relationship_ended_at', app.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('personal_data_erased_at',
                                      app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_merchant_relationship_ended_at', ['relationship_ended_at'],
                              unique=False)
    # An ended relationship (rejected or suspended) ended at its last such decision, else at
    # the merchant's last update.
    op.execute(sa.text("""
        UPDATE merchant SET relationship_ended_at = COALESCE(
            (SELECT MAX(d.created_at) FROM decision d WHERE d.merchant_id = merchant.id
                AND d.decision IN ('reject', 'suspend') AND d.status = 'final'),
            updated_at)
         WHERE status IN ('rejected', 'suspended')"""))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_name_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
        batch_op.add_column(sa.Column('birth_date_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
        batch_op.add_column(sa.Column('national_id_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
        batch_op.add_column(sa.Column('name_index', _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column('name_birth_index', _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column('national_id_index', _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column('erased_at', app.db.UTCDateTime(timezone=True),
                                      nullable=True))
    _seal_existing(op.get_bind())
    with op.batch_alter_table('case_attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_name_birth')
        batch_op.drop_index('ix_person_national_id_hash')
        batch_op.drop_column('full_name')
        batch_op.drop_column('name_key')
        batch_op.drop_column('national_id_hash')
        batch_op.drop_column('birth_date')
        batch_op.create_index('ix_person_name_birth', ['name_birth_index'], unique=False)
        batch_op.create_index('ix_person_national_id_index', ['national_id_index'],
                              unique=False)


def _seal_existing(bind) -> None:
    from app.services.personal_data import name_birth_index, name_index
    rows = bind.execute(sa.select(_old)).all()
    if not rows:
        return
    keys = _keys()
    for pid, name, born, id_hash in rows:
        if isinstance(born, str):
            born = dt.date.fromisoformat(born)
        bind.execute(_new.update().where(_new.c.id == pid).values(
            full_name_sealed=keys.seal(name, table="person", column="full_name_sealed",
                                       row_id=pid),
            birth_date_sealed=keys.seal(born.isoformat(), table="person",
                                        column="birth_date_sealed", row_id=pid)
            if born else None,
            name_index=name_index(name, keys),
            name_birth_index=name_birth_index(name, born, keys),
            national_id_index=id_hash))


def downgrade() -> None:
    with op.batch_alter_table('case_attachment', schema=None) as batch_op:
        batch_op.drop_column('sealed')  # a sealed kept STR copy stays sealed text
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_name', _TEXT(length=300), nullable=True))
        batch_op.add_column(sa.Column('name_key', _TEXT(length=300), nullable=True))
        batch_op.add_column(sa.Column('national_id_hash', _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
    _open_existing(op.get_bind())
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('full_name', existing_type=_TEXT(length=300), nullable=False)
        batch_op.alter_column('name_key', existing_type=_TEXT(length=300), nullable=False)
        batch_op.drop_index('ix_person_national_id_index')
        batch_op.drop_index('ix_person_name_birth')
        for name in ('erased_at', 'national_id_index', 'name_birth_index', 'name_index',
                     'national_id_sealed', 'birth_date_sealed', 'full_name_sealed'):
            batch_op.drop_column(name)
        batch_op.create_index('ix_person_national_id_hash', ['national_id_hash'], unique=False)
        batch_op.create_index('ix_person_name_birth', ['name_key', 'birth_date'], unique=False)
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_index('ix_merchant_relationship_ended_at')
        batch_op.drop_column('personal_data_erased_at')
        batch_op.drop_column('relationship_ended_at')


def _open_existing(bind) -> None:
    """Back to clear columns (an erased person stays a placeholder name)."""
    from app.validation import person_name_key
    rows = bind.execute(sa.select(_new)).all()
    if not rows:
        return
    keys = _keys()
    old = sa.table("person", sa.column("id", sa.String), sa.column("full_name", sa.String),
                   sa.column("name_key", sa.String), sa.column("birth_date", sa.Date),
                   sa.column("national_id_hash", sa.String))
    for pid, name, born, _n, _nb, index in rows:
        clear = keys.open(name, table="person", column="full_name_sealed", row_id=pid) \
            if name else "[erased]"
        day = keys.open(born, table="person", column="birth_date_sealed", row_id=pid) \
            if born else None
        bind.execute(old.update().where(old.c.id == pid).values(
            full_name=clear, name_key=person_name_key(clear),
            birth_date=dt.date.fromisoformat(day) if day else None, national_id_hash=index))
