"""Password hashing (argon2id) and TOTP second factors shared by the staff console and the
merchant portal (R-B2: MFA is mandatory for every person who logs in)."""

from __future__ import annotations

import datetime as dt
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: argon2id with the library's parameters (RFC 9106's second recommended option: 64 MiB,
#: 3 passes, 4 lanes). The test suite swaps ``_hasher`` for a cheaper one (tests/conftest.py).
PRODUCTION_HASHER = PasswordHasher()
_hasher = PRODUCTION_HASHER
TOTP_INTERVAL = 30
ISSUER = "kybgate"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted, with the library's current parameters)."""
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; never raises on a malformed hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def generate_password() -> str:
    """A random password for a new account (about 128 bits)."""
    return secrets.token_urlsafe(16)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(name=account,
                                                                         issuer_name=ISSUER)


def totp_step(code: str, secret: str, now: dt.datetime, last_step: int | None) -> int | None:
    """The time step that ``code`` is valid for at ``now`` (±1 step of clock drift), or None.

    A code whose step is not after ``last_step`` is refused: a TOTP code works once.
    """
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(now.timestamp()) // TOTP_INTERVAL
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None
