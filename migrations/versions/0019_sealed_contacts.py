"""sealed contacts: merchants' e-mail and phone and their e-mail/phone contact points sealed
under KYB_DATA_KEYS, linked through keyed blind indexes (issue #13, second part)

Existing rows are sealed here with the keys the application will use (``KYB_DATA_KEYS``, or
the instance folder's generated keys outside production), as 0018 does for persons:
``merchant.email``/``phone`` become ``email_sealed``/``phone_sealed`` (bound to the merchant's
id); an e-mail or phone ``contact_point`` keeps its value sealed in ``value_sealed`` (bound to
the point's id), a mask in ``value`` and its blind index in ``value_key`` (so shared-contact
linking keeps its ``ix_contact_kind_value`` lookup). E-mail and phone changes in
``merchant_change`` are masked: the full old and new values stay sealed in the contact point
history. Points already erased by retention stay erased. The way down opens the merchant and
contact-point values again (the masked change history stays masked).

Revision ID: 0019_sealed_contacts
Revises: 0018_personal_data
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.crypto.sealed

revision = '0019_sealed_contacts'
down_revision = '0018_personal_data'
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_KINDS = ("email", "phone")
_ERASED = "[erased]"

_merchant_old = sa.table("merchant", sa.column("id", sa.String), sa.column("email", sa.String),
                         sa.column("phone", sa.String))
_merchant_new = sa.table("merchant", sa.column("id", sa.String),
                         sa.column("email_sealed", sa.Text), sa.column("phone_sealed", sa.Text))
_point = sa.table("contact_point", sa.column("id", sa.String), sa.column("kind", sa.String),
                  sa.column("value", sa.String), sa.column("value_key", sa.String),
                  sa.column("value_sealed", sa.Text))
_change = sa.table("merchant_change", sa.column("id", sa.String), sa.column("field", sa.String),
                   sa.column("old_value", sa.Text), sa.column("new_value", sa.Text))


def _keys():
    """The application's data keys, loaded only when there are rows to seal."""
    from app.config import Settings
    from app.crypto.data_keys import load_data_keys
    settings = Settings.from_env()
    return load_data_keys(settings.data_keys, instance_path=settings.instance_path,
                          production=settings.env == "production")


def upgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
        batch_op.add_column(sa.Column('phone_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
    with op.batch_alter_table('contact_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
    _seal_existing(op.get_bind())
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+ too): a batch copy of ``merchant`` would
    # drop the table its many children reference, which foreign keys refuse.
    op.drop_column('merchant', 'email')
    op.drop_column('merchant', 'phone')


def _seal_existing(bind) -> None:
    from app.services.personal_data import contact_index, mask_contact
    merchants = bind.execute(sa.select(_merchant_old).where(sa.or_(
        _merchant_old.c.email.is_not(None), _merchant_old.c.phone.is_not(None)))).all()
    points = bind.execute(sa.select(_point.c.id, _point.c.kind, _point.c.value).where(
        _point.c.kind.in_(_KINDS), _point.c.value != _ERASED)).all()
    changes = bind.execute(sa.select(_change).where(_change.c.field.in_(_KINDS))).all()
    if not (merchants or points or changes):
        return
    keys = _keys()

    def seal(clear, table, column, row_id):
        return None if clear is None else keys.seal(clear, table=table, column=column,
                                                    row_id=row_id)

    for mid, email, phone in merchants:
        bind.execute(_merchant_new.update().where(_merchant_new.c.id == mid).values(
            email_sealed=seal(email, "merchant", "email_sealed", mid),
            phone_sealed=seal(phone, "merchant", "phone_sealed", mid)))
    for pid, kind, value in points:
        bind.execute(_point.update().where(_point.c.id == pid).values(
            value=mask_contact(kind, value), value_key=contact_index(kind, value, keys),
            value_sealed=seal(value, "contact_point", "value_sealed", pid)))

    def masked(kind, value):
        return value if value in (None, _ERASED) else mask_contact(kind, value)

    for cid, kind, old, new in changes:
        bind.execute(_change.update().where(_change.c.id == cid).values(
            old_value=masked(kind, old), new_value=masked(kind, new)))


def downgrade() -> None:
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', _TEXT(length=320), nullable=True))
        batch_op.add_column(sa.Column('phone', _TEXT(length=32), nullable=True))
    _open_existing(op.get_bind())
    op.drop_column('contact_point', 'value_sealed')
    op.drop_column('merchant', 'phone_sealed')
    op.drop_column('merchant', 'email_sealed')


def _open_existing(bind) -> None:
    """Back to clear columns (erased values stay erased)."""
    from app.services.personal_data import contact_norm
    merchants = bind.execute(sa.select(_merchant_new).where(sa.or_(
        _merchant_new.c.email_sealed.is_not(None),
        _merchant_new.c.phone_sealed.is_not(None)))).all()
    points = bind.execute(sa.select(_point.c.id, _point.c.kind, _point.c.value_sealed).where(
        _point.c.value_sealed.is_not(None))).all()
    if not (merchants or points):
        return
    keys = _keys()

    def open_(sealed, table, column, row_id):
        return None if sealed is None else keys.open(sealed, table=table, column=column,
                                                     row_id=row_id)

    for mid, email, phone in merchants:
        bind.execute(_merchant_old.update().where(_merchant_old.c.id == mid).values(
            email=open_(email, "merchant", "email_sealed", mid),
            phone=open_(phone, "merchant", "phone_sealed", mid)))
    for pid, kind, sealed in points:
        clear = open_(sealed, "contact_point", "value_sealed", pid)
        bind.execute(_point.update().where(_point.c.id == pid).values(
            value=clear, value_key=contact_norm(kind, clear)))
