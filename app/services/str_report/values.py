"""Plain JSON values for the STR package: UTC timestamps, decimals as strings, masked cards,
free text with anything that looks like a card number masked.

The package is hashed over its canonical JSON, so every value is made JSON-native here once
(no ``default=str`` at dump time that could format the same value two ways).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from api_keys.limits import plain_amount
from app.services.transactions import scrub_pans

# First six and last four digits with the hidden ones starred (api_keys.cards.mask_pan).
MASKED_CARD = re.compile(r"^\d{6}\*{2,9}\d{4}$")
REDACTED = "[redacted: not a first-6/last-4 mask]"
# Evidence keys whose values are digests or identifiers, never free text (masking them could
# corrupt a hash that happens to contain a Luhn-valid run of digits).
OPAQUE_KEY_PARTS = ("hash", "digest", "fingerprint", "_id", "sha256")
ALL_DIGITS = re.compile(r"^[\d -]+$")  # …but an "id" that is only digits may be a card number


def when(value: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` (dates as ``YYYY-MM-DD``)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def amount(value: Decimal | None) -> str | None:
    """A decimal as a plain string, as many decimals as carry value (``5000``, ``149.9``)."""
    return plain_amount(value)


def card(value: str | None) -> str | None:
    """``value`` if it is a first-6/last-4 mask; anything else is replaced, so a full card
    number can never reach the package even from a malformed stored row."""
    if value is None:
        return None
    return value if MASKED_CARD.match(value) else REDACTED


def text(value: str | None) -> str | None:
    """Free text with card numbers masked."""
    return scrub_pans(value) if isinstance(value, str) else value


def evidence(value: Any, key: str = "") -> Any:
    """A JSON evidence tree with its free-text strings scrubbed of card numbers."""
    if isinstance(value, dict):
        return {str(k): evidence(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [evidence(v, key) for v in value]
    if isinstance(value, str):
        if key == "card_masked":
            return card(value)
        if any(p in key for p in OPAQUE_KEY_PARTS) and not ALL_DIGITS.match(value):
            return value  # a digest or an id: masking a digit run inside would corrupt it
        return text(value)
    if isinstance(value, Decimal):
        return amount(value)
    if isinstance(value, dt.datetime | dt.date):
        return when(value)
    return value
