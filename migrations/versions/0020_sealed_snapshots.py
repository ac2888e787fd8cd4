"""sealed snapshots: assessments' evidence, reasons and personal facts sealed under
KYB_DATA_KEYS (issue #13, third part)

Each existing assessment keeps in clear its checks' code, status and points and the snapshot's
non-personal facts; its full checks and reasons go to ``checks_sealed`` and the snapshot's
personal facts (e-mail, phone, owners, shared ownership, screening and blacklist hits) to
``snapshot_sealed``, bound to the assessment's id (``app.services.sealed_assessments``).
A merchant's notification keeps a masked recipient and its change values masked in payload and
body; the full recipient, body and payload go to ``content_sealed``
(``app.services.sealed_notices``). An owner's screening dismissal keeps a mask of the name in
``subject`` and the name in ``subject_sealed``; every dismissal's plain SHA-256
``subject_digest`` becomes a keyed blind index of it (``app.services.screening_subjects``).
A portal account's ``email`` becomes the keyed blind index of its address, the address sealed in
``email_sealed`` (``app.services.portal_users``).
The way down opens them again (digests go back to the plain hash only for rows it sealed:
the blind index cannot be reversed, so a dismissal whose subject it cannot rebuild lapses).

Revision ID: 0020_sealed_snapshots
Revises: 0019_sealed_contacts
"""
import json

import sqlalchemy as sa
from alembic import op

import app.crypto.sealed

revision = '0020_sealed_snapshots'
down_revision = '0019_sealed_contacts'
branch_labels = None
depends_on = None

BATCH = 200

_notification = sa.table("notification", sa.column("id", sa.String),
                         sa.column("merchant_id", sa.String), sa.column("recipient", sa.String),
                         sa.column("body", sa.Text), sa.column("payload", sa.JSON),
                         sa.column("content_sealed", sa.Text))
_dismissal = sa.table("screening_dismissal", sa.column("id", sa.String),
                      sa.column("subject_role", sa.String), sa.column("subject", sa.String),
                      sa.column("subject_sealed", sa.Text),
                      sa.column("subject_digest", sa.String))
_user = sa.table("merchant_user", sa.column("id", sa.String), sa.column("email", sa.String),
                 sa.column("email_sealed", sa.Text))
_assessment = sa.table("assessment", sa.column("id", sa.String),
                       sa.column("checks", sa.JSON), sa.column("reasons", sa.JSON),
                       sa.column("input_snapshot", sa.JSON),
                       sa.column("checks_sealed", sa.Text),
                       sa.column("snapshot_sealed", sa.Text))


def _keys():
    """The application's data keys, loaded only when there are rows to seal."""
    from app.config import Settings
    from app.crypto.data_keys import load_data_keys
    settings = Settings.from_env()
    return load_data_keys(settings.data_keys, instance_path=settings.instance_path,
                          production=settings.env == "production")


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _batches(bind, where, table=_assessment):
    """The rows of ``table`` matching ``where``, a batch at a time, in id order."""
    after = ""
    while True:
        rows = bind.execute(sa.select(table).where(where, table.c.id > after)
                            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checks_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
        batch_op.add_column(sa.Column('snapshot_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
    with op.batch_alter_table('screening_dismissal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
    _seal_assessments(op.get_bind())
    _seal_notifications(op.get_bind())
    _seal_dismissals(op.get_bind())
    with op.batch_alter_table('merchant_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_sealed', app.crypto.sealed.SealedText(),
                                      nullable=True))
    _seal_users(op.get_bind())


def _seal_users(bind) -> None:
    from app.services.portal_users import sealed_user_values
    keys = None
    for rows in _batches(bind, _user.c.email_sealed.is_(None), _user):
        keys = keys or _keys()
        for row in rows:
            bind.execute(_user.update().where(_user.c.id == row.id).values(
                **sealed_user_values(row.id, row.email, keys)))


def _seal_assessments(bind) -> None:
    from app.services.sealed_assessments import sealed_values
    keys = None
    for rows in _batches(bind, _assessment.c.checks_sealed.is_(None)):
        keys = keys or _keys()
        for row in rows:
            snapshot = _json(row.input_snapshot) or {}
            if "facts" not in snapshot or "erased_at" in snapshot:
                continue  # nothing to seal (a hand-made row, or erased by retention)
            bind.execute(_assessment.update().where(_assessment.c.id == row.id).values(
                **sealed_values(row.id, checks=_json(row.checks) or [],
                                reasons=_json(row.reasons) or [], snapshot=snapshot,
                                keys=keys)))


def _seal_notifications(bind) -> None:
    from app.services.sealed_notices import PERSONAL_CHANGES, masked_payload, sealed_notice_values
    keys = None
    where = sa.and_(_notification.c.merchant_id.is_not(None),
                    _notification.c.content_sealed.is_(None))
    for rows in _batches(bind, where, _notification):
        keys = keys or _keys()
        for row in rows:
            payload = _json(row.payload) or {}
            body, masked = row.body, masked_payload(payload)
            for item, shown in zip(payload.get("changes") or [], masked.get("changes") or [],
                                   strict=False):
                if isinstance(item, dict) and item.get("field") in PERSONAL_CHANGES:
                    for side in ("old", "new"):
                        if item.get(side):
                            body = body.replace(str(item[side]), str(shown[side]))
            bind.execute(_notification.update().where(_notification.c.id == row.id).values(
                **sealed_notice_values(row.id, recipient=row.recipient, body=row.body,
                                       payload=payload, clear_body=body, keys=keys)))


def _seal_dismissals(bind) -> None:
    from app.services.screening_decisions import keyed_digest
    from app.services.screening_subjects import sealed_subject_values
    keys = None
    for rows in _batches(bind, _dismissal.c.subject_sealed.is_(None), _dismissal):
        keys = keys or _keys()
        for row in rows:
            bind.execute(_dismissal.update().where(_dismissal.c.id == row.id).values(
                subject_digest=keyed_digest(row.subject_digest, keys),
                **sealed_subject_values(row.id, row.subject_role, row.subject, keys)))


def downgrade() -> None:
    _open_assessments(op.get_bind())
    _open_notifications(op.get_bind())
    _open_dismissals(op.get_bind())
    _open_users(op.get_bind())
    op.drop_column('merchant_user', 'email_sealed')
    op.drop_column('screening_dismissal', 'subject_sealed')
    op.drop_column('notification', 'content_sealed')
    op.drop_column('assessment', 'snapshot_sealed')  # plain ALTER TABLE (SQLite 3.35+ too)
    op.drop_column('assessment', 'checks_sealed')


def _open_assessments(bind) -> None:
    from app.services.sealed_assessments import opened_values
    keys = None
    for rows in _batches(bind, _assessment.c.checks_sealed.is_not(None)):
        keys = keys or _keys()
        for row in rows:
            bind.execute(_assessment.update().where(_assessment.c.id == row.id).values(
                checks_sealed=None, snapshot_sealed=None,
                **opened_values(row.id, input_snapshot=_json(row.input_snapshot),
                                checks_sealed=row.checks_sealed,
                                snapshot_sealed=row.snapshot_sealed, keys=keys)))


def _open_notifications(bind) -> None:
    keys = None
    for rows in _batches(bind, _notification.c.content_sealed.is_not(None), _notification):
        keys = keys or _keys()
        for row in rows:
            full = json.loads(keys.open(row.content_sealed, table="notification",
                                        column="content_sealed", row_id=row.id))
            bind.execute(_notification.update().where(_notification.c.id == row.id).values(
                recipient=full["recipient"], body=full["body"], payload=full["payload"],
                content_sealed=None))


def _open_dismissals(bind) -> None:
    """Owners' names back in clear, and the plain digest recomputed where the birth date is not
    needed (legal and trade names); an owner's decision keeps the keyed digest and lapses."""
    import hashlib
    keys = None
    for rows in _batches(bind, _dismissal.c.id != "", _dismissal):
        keys = keys or _keys()
        for row in rows:
            subject = row.subject if row.subject_sealed is None else keys.open(
                row.subject_sealed, table="screening_dismissal", column="subject_sealed",
                row_id=row.id)
            digest = row.subject_digest
            if row.subject_role != "owner":
                text = f"{row.subject_role}\x1f{' '.join(subject.split()).casefold()}\x1f"
                digest = hashlib.sha256(text.encode()).hexdigest()
            bind.execute(_dismissal.update().where(_dismissal.c.id == row.id).values(
                subject=subject, subject_sealed=None, subject_digest=digest))


def _open_users(bind) -> None:
    keys = None
    for rows in _batches(bind, _user.c.email_sealed.is_not(None), _user):
        keys = keys or _keys()
        for row in rows:
            bind.execute(_user.update().where(_user.c.id == row.id).values(
                email=keys.open(row.email_sealed, table="merchant_user", column="email_sealed",
                                row_id=row.id), email_sealed=None))
