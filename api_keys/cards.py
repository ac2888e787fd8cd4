"""Card numbers (PANs) reduced to what may be kept: a mask and a keyed fingerprint (R-B5).

The full number never leaves these functions: errors name the problem, never the digits, and
are raised without chaining so no traceback frame shows the input as an exception argument.
Spaces and hyphens are accepted as separators; only ASCII digits count (``str.isdigit`` would
accept Arabic-Indic or superscript digits). A mask keeps the first six and last four digits and
has as many ``*`` as hidden digits, so ``4111111111111111`` becomes ``411111******1111``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from stdnum import luhn
from stdnum.exceptions import ValidationError

MIN_PAN_LENGTH = 12
MAX_PAN_LENGTH = 19
_MAX_INPUT_LENGTH = 64
_DIGITS = frozenset("0123456789")
_FINGERPRINT_CONTEXT = b"kybgate:pan:v1:"  # domain separation from token HMACs under one pepper


class InvalidCardNumber(ValueError):
    """A card number was refused. The message never contains the number."""


@dataclass(frozen=True, slots=True)
class ProtectedCard:
    """What may be stored about a card: ``masked`` (first 6 / last 4) and ``fingerprint``."""

    masked: str
    fingerprint: str


def _digits(pan: object) -> str:
    if not isinstance(pan, str):
        raise InvalidCardNumber("card number must be a string")
    if len(pan) > _MAX_INPUT_LENGTH:
        raise InvalidCardNumber("card number is too long")
    digits = pan.replace(" ", "").replace("-", "")
    if not digits or not set(digits) <= _DIGITS:
        raise InvalidCardNumber("card number must contain only digits")
    if not MIN_PAN_LENGTH <= len(digits) <= MAX_PAN_LENGTH:
        raise InvalidCardNumber(f"card number must have {MIN_PAN_LENGTH}-{MAX_PAN_LENGTH} digits")
    try:
        luhn.validate(digits)
    except ValidationError:
        raise InvalidCardNumber("card number fails the Luhn check") from None
    return digits


def mask_pan(pan: str) -> str:
    """``first6 + '*' * hidden + last4`` of a valid PAN; raise :class:`InvalidCardNumber`."""
    digits = _digits(pan)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def fingerprint_pan(pan: str, pepper: bytes) -> str:
    """Hex HMAC-SHA256 of the PAN's digits under ``pepper``: equal cards, equal fingerprints."""
    if not isinstance(pepper, bytes) or len(pepper) < 16:
        raise ValueError("pepper must be at least 16 bytes")
    digits = _digits(pan)
    return hmac.new(pepper, _FINGERPRINT_CONTEXT + digits.encode(), hashlib.sha256).hexdigest()


def protect_pan(pan: str, pepper: bytes) -> ProtectedCard:
    """Mask and fingerprint a PAN in one step."""
    return ProtectedCard(mask_pan(pan), fingerprint_pan(pan, pepper))
