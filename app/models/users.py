"""People who log in: onboarding staff and merchant users. Passwords are argon2 hashes; every
user has a TOTP secret (MFA is mandatory, R-B2)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from app.crypto.sealed import SealedText
from app.models.base import created_field, id_field, when_field

STAFF_ROLES = ("analyst", "approver", "admin")


class LoginAccount(SQLModel):
    """What every account that signs in has: password hash, TOTP secret, lockout state."""

    email: str = Field(max_length=320, unique=True)
    password_hash: str = Field(max_length=255)
    totp_secret: str = Field(max_length=64)
    mfa_confirmed_at: dt.datetime | None = when_field()
    failed_logins: int = 0
    locked_until: dt.datetime | None = when_field()
    last_login_at: dt.datetime | None = when_field()
    last_totp_step: int | None = None
    active: bool = True
    created_at: dt.datetime = created_field()


class StaffUser(LoginAccount, table=True):
    """An onboarding analyst, approver or administrator."""

    __tablename__ = "staff_user"

    id: str = id_field("stf")
    display_name: str | None = Field(default=None, max_length=120)
    role: str = Field(max_length=20)


class MerchantUser(LoginAccount, table=True):
    """A person who signs in to the merchant portal for one merchant. ``email`` holds the
    keyed blind index of the address and ``email_sealed`` the address (R-D7;
    ``app.services.portal_users``)."""

    __tablename__ = "merchant_user"

    id: str = id_field("mus")
    email_sealed: str | None = Field(default=None, sa_type=SealedText)
    merchant_id: str | None = Field(default=None, foreign_key="merchant.id", index=True,
                                    max_length=40)
