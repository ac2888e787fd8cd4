"""Keyed hashing of identifiers that must be linkable but never stored in clear: national ids,
card numbers. The key is the current ``KYB_TOKEN_PEPPER`` with a purpose label, so that a hash
made for one purpose is useless for another."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Keyring:
    """The server's HMAC keys by version, and which one is current."""

    peppers: dict[int, bytes]
    current: int

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value`` for ``purpose`` under the current pepper (hex)."""
        key = hmac.new(self.peppers[self.current], purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def mask_identifier(value: str, visible: int = 4) -> str:
    """``12345678901`` → ``*******8901``."""
    return "*" * max(len(value) - visible, 0) + value[-visible:]
