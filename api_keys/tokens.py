"""Merchant API token format, parsing and peppered hashing.

A token looks like ``kyb_live_<key id>_<secret><checksum>``:

* ``kyb_live_`` or ``kyb_test_`` — a visible prefix naming the environment (as CTFd's ``ctfd_``
  and GitHub's ``ghp_``), so secret scanners and humans recognise a leaked token;
* a 12-character base62 key id — public, it selects the stored record;
* ``_`` and 43 base62 characters encoding 32 random bytes from :mod:`secrets` (fixed width);
* 6 base62 characters: the CRC32 of everything before it, so a typo or a forged token is refused
  offline, before any cache or database lookup.

Only ``HMAC-SHA256(pepper, token)`` is stored. Peppers are versioned so the server secret can be
rotated: records keep the version they were hashed with, new hashes use the current one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from api_keys.results import Failure

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ENVIRONMENTS = ("live", "test")
KEY_ID_LENGTH = 12
SECRET_BYTES = 32
SECRET_LENGTH = 43  # ceil(256 / log2(62)) base62 digits hold any 32-byte value
CHECKSUM_LENGTH = 6  # 62**6 > 2**32 holds any CRC32
TOKEN_LENGTH = len("kyb_live_") + KEY_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH  # 71
MIN_PEPPER_BYTES = 16

#: What secret scanners (GitHub push protection, gitleaks, trufflehog) should match.
TOKEN_PATTERN = r"\bkyb_(?:live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}\b"  # noqa: S105 - a pattern, not a secret

_TOKEN_RE = re.compile(r"kyb_(live|test)_([0-9A-Za-z]{12})_[0-9A-Za-z]{49}")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly generated token. ``token`` is shown to the merchant once and never stored."""

    token: str
    key_id: str
    prefix: str  # "kyb_live_<key id>": safe to store and display to identify the key
    environment: str

    def __repr__(self) -> str:  # the secret must not leak into logs via repr
        return f"IssuedToken(key_id={self.key_id!r}, prefix={self.prefix!r}, token=<redacted>)"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A token whose shape and checksum are right; it still has to match a stored hash."""

    token: str
    key_id: str
    prefix: str
    environment: str

    def __repr__(self) -> str:
        return f"ParsedToken(key_id={self.key_id!r}, prefix={self.prefix!r}, token=<redacted>)"


def _base62(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    if value:
        raise ValueError("value does not fit the width")
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


_BASE62_VALUE = {char: value for value, char in enumerate(BASE62)}


def _checksum_matches(body: str, checksum: str) -> bool:
    # Decoding the six given digits is cheaper than encoding the CRC; the checksum is public,
    # so a plain comparison is fine here (the secret is compared by HMAC, in constant time).
    value = 0
    for char in checksum:
        value = value * 62 + _BASE62_VALUE[char]
    return value == zlib.crc32(body.encode("ascii"))


def generate(environment: str) -> IssuedToken:
    """Return a new random token for ``environment`` (``"live"`` or ``"test"``)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}, not {environment!r}")
    key_id = "".join(secrets.choice(BASE62) for _ in range(KEY_ID_LENGTH))
    secret = _base62(int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big"), SECRET_LENGTH)
    prefix = f"kyb_{environment}_{key_id}"
    body = f"{prefix}_{secret}"
    return IssuedToken(body + _checksum(body), key_id, prefix, environment)


def parse(token: object) -> ParsedToken | Failure:
    """Check a presented token's shape and checksum without any lookup.

    Refuses, cheapest test first: non-strings, wrong length, anything non-ASCII (Unicode
    look-alikes such as Cyrillic ``а`` or full-width digits), wrong prefix or alphabet, and a
    checksum that does not match. Surrounding whitespace is not stripped: callers strip header
    syntax, the token itself has none.
    """
    if not isinstance(token, str):
        return Failure("not_a_string")
    if len(token) != TOKEN_LENGTH:
        return Failure("length")
    if not token.isascii():
        return Failure("non_ascii")
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        return Failure("format")
    body, checksum = token[:-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    if not _checksum_matches(body, checksum):
        return Failure("checksum")
    environment, key_id = match.groups()
    return ParsedToken(token, key_id, token[: len("kyb_live_") + KEY_ID_LENGTH], environment)


class Peppers:
    """Versioned server secrets for token HMACs: ``Peppers({1: b"...", 2: b"..."}, current=2)``.

    Old versions stay so that stored hashes keep verifying while records are re-hashed. The
    secret bytes never appear in ``repr``.
    """

    __slots__ = ("_keyed", "current")

    def __init__(self, peppers: Mapping[int, bytes], current: int) -> None:
        if current not in peppers:
            raise ValueError(f"current pepper version {current} is not among the peppers")
        keyed = {}
        for version, pepper in peppers.items():
            if not isinstance(pepper, bytes) or len(pepper) < MIN_PEPPER_BYTES:
                raise ValueError(f"pepper version {version} must be >= {MIN_PEPPER_BYTES} bytes")
            # A keyed HMAC object copied per use is cheaper than re-keying each time.
            keyed[version] = hmac.new(pepper, digestmod=hashlib.sha256)
        self._keyed = MappingProxyType(keyed)
        self.current = current

    @property
    def versions(self) -> tuple[int, ...]:
        """The pepper versions this instance can verify."""
        return tuple(sorted(self._keyed))

    def digest(self, version: int, message: bytes) -> str | None:
        """HMAC-SHA256 hex digest of ``message`` under pepper ``version``; None if unknown."""
        keyed = self._keyed.get(version)
        if keyed is None:
            return None
        mac = keyed.copy()
        mac.update(message)
        return mac.hexdigest()

    def __repr__(self) -> str:
        return f"Peppers(versions={self.versions}, current={self.current})"


def hash_token(token: str, peppers: Peppers) -> tuple[int, str]:
    """Return ``(pepper_version, hex HMAC-SHA256)`` of ``token`` under the current pepper."""
    digest = peppers.digest(peppers.current, token.encode("utf-8"))
    if digest is None:  # unreachable: Peppers refuses a current version it does not hold
        raise RuntimeError("current pepper missing")
    return peppers.current, digest


def token_matches(token: str, stored_hash: str, pepper_version: int, peppers: Peppers) -> bool:
    """Whether ``token`` hashes to ``stored_hash`` under ``pepper_version``, in constant time.

    An unknown pepper version is a mismatch, never an error.
    """
    digest = peppers.digest(pepper_version, token.encode("utf-8"))
    if digest is None:
        return False
    return hmac.compare_digest(digest.encode("ascii"), stored_hash.encode("utf-8"))


def needs_rehash(pepper_version: int, peppers: Peppers) -> bool:
    """Whether a record hashed under ``pepper_version`` should be re-hashed (pepper rotated)."""
    return pepper_version != peppers.current
