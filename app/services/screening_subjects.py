"""The screened subject of a "not this person" decision at rest (issue #13, R-D7).

An owner's dismissal names a natural person: ``subject`` keeps a mask of the name (the first
letter of each word, ``C••• Y•••``) for lists, the API and the audit trail, and
``subject_sealed`` the name (bound to the decision's id), opened for the reviewer's page
through its audited disclosure. A legal or trade name is a company's and stays in clear.
Retention erases an owner's sealed name.
"""

from __future__ import annotations

from app.crypto.data_keys import DataKeys
from app.models import ScreeningDismissal
from app.services.personal_data import Disclosure

ERASED = "[erased]"
FIELD = "screening_subject"  # how a Disclosure names what it opened


def mask_name(name: str) -> str:
    """``Cumhur Yakutlu`` → ``C••• Y•••``: enough to tell two owners apart on a page."""
    return " ".join(f"{word[:1]}•••" for word in name.split()) or "•••"


def sealed_subject_values(row_id: str, role: str, subject: str,
                          keys: DataKeys) -> dict[str, str | None]:
    """The ``subject`` and ``subject_sealed`` of decision ``row_id`` on ``subject`` (what
    :func:`seal_subject` sets; migration 0020 writes them with SQL)."""
    if role != "owner":
        return {"subject": subject, "subject_sealed": None}
    return {"subject": mask_name(subject),
            "subject_sealed": keys.seal(subject, table="screening_dismissal",
                                        column="subject_sealed", row_id=row_id)}


def seal_subject(row: ScreeningDismissal, subject: str, keys: DataKeys) -> ScreeningDismissal:
    """Store ``subject`` on ``row``: masked and sealed for an owner, else in clear."""
    for name, value in sealed_subject_values(row.id, row.subject_role, subject, keys).items():
        setattr(row, name, value)
    return row


def shown_subject(row: ScreeningDismissal, disclosure: Disclosure | None) -> str:
    """The subject as a reviewer reads it: opened through ``disclosure`` (noted for its
    audit event), the mask without one."""
    if row.subject_sealed is None or disclosure is None or disclosure.keys is None:
        return row.subject
    clear = disclosure.keys.open(row.subject_sealed, table="screening_dismissal",
                                 column="subject_sealed", row_id=row.id)
    disclosure.opened_merchants.setdefault(row.merchant_id, set()).add(FIELD)
    return clear


def erase_subject(row: ScreeningDismissal) -> None:
    """Retention: an owner's sealed name is dropped and its mask becomes ``[erased]``."""
    if row.subject_role == "owner":
        row.subject, row.subject_sealed = ERASED, None
