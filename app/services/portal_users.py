"""Merchant portal accounts' e-mail at rest (issue #13, R-D7, R-B4).

A portal user's address is a natural person's data: ``merchant_user.email`` holds its keyed
blind index (unique, so the login's lookup stays one indexed equality on the same normalised
address as before: ends trimmed, lower case) and ``email_sealed`` the address, bound to the
row's id. The account's own pages and its TOTP enrolment open it (the data subject's side, not
audited). In the audit trail a portal user is ``merchant:<user id>``; a failed login with an
address that has no account names its mask. Staff accounts are the institution's own and keep
their address in clear.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session

from app.crypto.data_keys import DataKeys
from app.models import MerchantUser
from app.services.personal_data import data_keys, mask_contact


def normalise_email(email: str) -> str:
    """A login address as compared: ends trimmed, lower case."""
    return email.strip().lower()


def login_index(email: str, keys: DataKeys | None = None) -> str:
    """The blind index a portal account is found by (HMAC-SHA256 under the index key)."""
    return (keys or data_keys()).blind_index("portal-login-email", normalise_email(email))


def lookup_value(kind: str, email: str, keys: DataKeys | None = None) -> str:
    """What the ``email`` column of a ``kind`` account holds for ``email``."""
    return login_index(email, keys) if kind == "merchant" else normalise_email(email)


def sealed_user_values(row_id: str, email: str, keys: DataKeys) -> dict[str, str]:
    """The ``email`` and ``email_sealed`` of portal account ``row_id`` (migration 0020 writes
    them with SQL)."""
    return {"email": login_index(email, keys),
            "email_sealed": keys.seal(normalise_email(email), table="merchant_user",
                                      column="email_sealed", row_id=row_id)}


def new_merchant_user(*, email: str, keys: DataKeys, **fields: Any) -> MerchantUser:
    """A portal account for ``email``, its address sealed and indexed."""
    user = MerchantUser(email="", **fields)
    for name, value in sealed_user_values(user.id, email, keys).items():
        setattr(user, name, value)
    return user


def account_email(user: Any) -> str:
    """The account's own address: a portal user's is opened (its own data, not audited)."""
    if not isinstance(user, MerchantUser) or user.email_sealed is None:
        return user.email
    return data_keys(object_session(user)).open(user.email_sealed, table="merchant_user",
                                                column="email_sealed", row_id=user.id)


def login_name(kind: str, user: Any = None, typed: str | None = None) -> str:
    """Who a login event names after ``<kind>:``: a staff address; a portal user's id, or the
    mask of an address typed for no account."""
    if kind != "merchant":
        return user.email if user is not None else normalise_email(typed or "")
    if user is not None:
        return user.id
    return mask_contact("email", normalise_email(typed or ""))


def erase_account(user: MerchantUser) -> None:
    """Retention: the address and its index are dropped and the account is closed."""
    user.email, user.email_sealed, user.active = f"erased:{user.id}", None, False
