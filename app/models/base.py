"""Shared column helpers for the models: identifiers, timestamps, money and JSON columns."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
import time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.db import Money, UTCDateTime, utcnow

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower-case


_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)  # 10 bits → two characters


def _base32(value: int, length: int = 20) -> str:
    """The low ``length`` × 5 bits of ``value`` in Crockford base32, most significant first
    (ten bits at a time: ids are made on every verification)."""
    pairs, odd = divmod(length, 2)
    parts = [_PAIRS[(value >> (10 * i)) & 0x3FF] for i in range(pairs - 1, -1, -1)]
    if odd:
        return _ALPHABET[(value >> (10 * pairs)) & 0x1F] + "".join(parts)
    return "".join(parts)


def new_id(prefix: str) -> str:
    """An opaque public identifier such as ``mer_5f2k9x...``: 20 Crockford base32 characters
    (100 random bits) from one read of the system's random source; never a guessable sequence.
    """
    return f"{prefix}_" + _base32(int.from_bytes(secrets.token_bytes(13), "big"))


_SORTABLE: tuple[int, int, itertools.count] = (-1, 0, itertools.count())


def sortable_id(prefix: str, now_ms: int | None = None) -> str:
    """An identifier like :func:`new_id` whose first 10 characters are the time in
    milliseconds (Crockford base32, as in ULID) and the other 10 (50 bits) a random number
    drawn once per process (30 bits) and a counter (20 bits): ids made later sort later, and
    no system call is made per id (the data plane makes one per request). Unique, not secret:
    never use it where an id must not be guessed. For append-mostly tables (the audit trail):
    each insert lands at the right edge of the primary key's b-tree."""
    global _SORTABLE
    pid, random_part, counter = _SORTABLE
    if pid != os.getpid():
        random_part, counter = secrets.randbits(30), itertools.count()
        _SORTABLE = (os.getpid(), random_part, counter)
    value = (now_ms if now_ms is not None else time.time_ns() // 1_000_000) << 50
    value |= (random_part << 20) | (next(counter) & 0xFFFFF)
    return f"{prefix}_" + _base32(value)


def id_field(prefix: str) -> Any:
    """A string primary key filled with ``new_id(prefix)``."""
    return Field(default_factory=lambda: new_id(prefix), primary_key=True, max_length=40)


def created_field(**kwargs: Any) -> Any:
    """A non-null UTC timestamp defaulting to now."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kwargs)


def when_field(**kwargs: Any) -> Any:
    """An optional UTC timestamp."""
    return Field(default=None, sa_type=UTCDateTime, nullable=True, **kwargs)


def money_field(nullable: bool = True, **kwargs: Any) -> Any:
    """A ``Decimal`` money amount (pair it with an ISO 4217 currency column)."""
    return Field(default=None if nullable else Decimal(0), sa_type=Money, nullable=nullable,
                 **kwargs)


def json_field(default_factory: Any = dict, **kwargs: Any) -> Any:
    """A JSON document column."""
    return Field(default_factory=default_factory, sa_type=sa.JSON, nullable=False, **kwargs)


__all__ = ["created_field", "id_field", "json_field", "money_field", "new_id", "when_field",
           "utcnow", "dt"]
