"""The data keys (``KYB_DATA_KEYS``): AES-256-GCM encryption of personal fields and the keyed
blind indexes that still let shared ownership find the same person (R-B4, R-D7).

``KYB_DATA_KEYS`` is ``"2:<base64 32 bytes>,1:<base64 32 bytes>"``: the first entry is the
current key (new values are sealed under it), the others still open what they sealed until
``kybgate data-keys reencrypt`` has moved every row to the current key. An optional
``idx:<base64 32 bytes>`` entry pins the blind-index key; without it the index key is derived
from the *lowest* numbered data key, so adding a new version never changes an index (retire the
lowest key only after pinning ``idx:`` to it: ``kybgate data-keys rotate`` prints that spec).

A sealed value records its key version, and its associated data names the table, column and
row id: a ciphertext copied to another row or field does not open (no swapping).

Production refuses to start without ``KYB_DATA_KEYS``; development and testing read (or create
once) ``<instance>/data-keys`` (mode 0600), as the demo's database lives there too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The sealed-value format: kd1:<version>:<base64url(nonce | ciphertext)>.
TOKEN_PREFIX = "kd1"  # noqa: S105 - a format tag, not a secret
NONCE_BYTES = 12
KEY_FILE = "data-keys"


class DataKeyError(RuntimeError):
    """The data keys are missing or malformed (a configuration error)."""


class SealedValueError(ValueError):
    """A sealed value does not open: unknown key version, wrong row or field, or tampered."""


def _b64key(text: str, label: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DataKeyError(f"KYB_DATA_KEYS entry {label} is not base64") from exc
    if len(key) != 32:
        raise DataKeyError(f"KYB_DATA_KEYS entry {label} must be 32 bytes (AES-256), "
                           f"not {len(key)}")
    return key


@dataclass(frozen=True)
class DataKeys:
    """The data keys by version, the current version, and the blind-index key."""

    keys: dict[int, bytes]
    current: int
    index_key: bytes

    @classmethod
    def parse(cls, spec: str) -> DataKeys:
        """Parse a ``KYB_DATA_KEYS`` value (see the module docstring)."""
        keys: dict[int, bytes] = {}
        current = 0
        pinned: bytes | None = None
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            label, sep, text = part.partition(":")
            if label == "idx" and sep:
                pinned = _b64key(text, "idx")
                continue
            if not sep or not label.isdigit() or int(label) < 1:
                raise DataKeyError("KYB_DATA_KEYS entries are <version>:<base64 key>, "
                                   "version a positive integer")
            version = int(label)
            if version in keys:
                raise DataKeyError(f"KYB_DATA_KEYS names version {version} twice")
            keys[version] = _b64key(text, label)
            current = current or version
        if not keys:
            raise DataKeyError("KYB_DATA_KEYS holds no key")
        source = pinned if pinned is not None else keys[min(keys)]
        return cls(keys, current, _derive(source, b"kybgate blind index v1"))

    def seal(self, clear: str, *, table: str, column: str, row_id: str) -> str:
        """``clear`` encrypted under the current key, bound to ``table.column`` of ``row_id``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        blob = AESGCM(self.keys[self.current]).encrypt(
            nonce, clear.encode(), _aad(table, column, row_id))
        text = base64.urlsafe_b64encode(nonce + blob).decode().rstrip("=")
        return f"{TOKEN_PREFIX}:{self.current}:{text}"

    def open(self, sealed: str, *, table: str, column: str, row_id: str) -> str:
        """The clear text of ``sealed``, or ``SealedValueError`` (never a wrong answer)."""
        version, blob = split_sealed(sealed)
        key = self.keys.get(version)
        if key is None:
            raise SealedValueError(f"{table}.{column} of {row_id} is sealed under key version "
                                   f"{version}, which KYB_DATA_KEYS does not hold")
        try:
            clear = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                        _aad(table, column, row_id))
        except InvalidTag:
            raise SealedValueError(f"{table}.{column} of {row_id} does not open: tampered, "
                                   "or sealed for another row or field") from None
        return clear.decode()

    def blind_index(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 (hex) of ``value`` for ``purpose`` under the blind-index key: equal
        values give equal indexes, and nothing about the value can be read back."""
        key = hmac.new(self.index_key, purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(key)


def _aad(table: str, column: str, row_id: str) -> bytes:
    return f"{TOKEN_PREFIX}\x1f{table}\x1f{column}\x1f{row_id}".encode()


def split_sealed(sealed: str) -> tuple[int, bytes]:
    """The key version and raw bytes of a sealed value, or ``SealedValueError``."""
    prefix, _, rest = sealed.partition(":")
    version_text, _, text = rest.partition(":")
    if prefix != TOKEN_PREFIX or not version_text.isdigit() or not text:
        raise SealedValueError("not a sealed value")
    try:
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SealedValueError("a sealed value's body is not base64") from None
    if len(blob) < NONCE_BYTES + 16:
        raise SealedValueError("a sealed value is too short")
    return int(version_text), blob


def sealed_version(sealed: str) -> int:
    """The key version a sealed value was made with."""
    return split_sealed(sealed)[0]


def new_key() -> str:
    """A fresh 32-byte key, base64, for a ``KYB_DATA_KEYS`` entry."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def instance_keys_file(instance_path: str) -> Path:
    """Where development and testing keep their generated data keys."""
    return Path(instance_path) / KEY_FILE


def load_data_keys(spec: str | None, *, instance_path: str, production: bool) -> DataKeys:
    """The data keys from ``spec`` (``KYB_DATA_KEYS``); without it, production refuses and
    development reads, or creates once, ``<instance>/data-keys``."""
    if spec:
        return DataKeys.parse(spec)
    if production:
        raise DataKeyError("KYB_ENV=production refuses to start without KYB_DATA_KEYS")
    path = instance_keys_file(instance_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{KEY_FILE}.{secrets.token_hex(6)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"1:{new_key()}\n")
        try:  # a link never replaces: when another process made the file first, theirs stays
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return DataKeys.parse(path.read_text().strip())
