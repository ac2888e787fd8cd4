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
    """Mask and fingerprint a PAN in one step (the number is parsed and Luhn-checked once)."""
    if not isinstance(pepper, bytes) or len(pepper) < 16:
        raise ValueError("pepper must be at least 16 bytes")
    digits = _digits(pan)
    return ProtectedCard(
        digits[:6] + "*" * (len(digits) - 10) + digits[-4:],
        hmac.new(pepper, _FINGERPRINT_CONTEXT + digits.encode(), hashlib.sha256).hexdigest())


# --------------------------------------------------------------------------- scrubbing free text
# A card number typed into a free-text field (a description, a reference, a note, a header, a
# URL) must not be kept (issue #13 item 4). ``scrub_pans`` masks every Luhn-valid run of 13-19
# digits, whatever the digit script (``\d`` is any Unicode decimal digit: full-width,
# Arabic-Indic, ...) and however the digits are split (space, NBSP and other Unicode spaces,
# double spaces, dot, slash, underscore, hyphens and dashes, newline, tab). The run is found
# in a *chain*: digit groups joined by at most three separator characters. A candidate span
# starts and ends on group boundaries (so ``qty 3 4111111111111111`` finds the card beside the
# 3), its inner groups have at least three digits (so lists of dates or 2-digit phone blocks
# are not joined into a "card"), and a valid IBAN, a hex digest or a UUID is left alone. The
# longest valid span from the leftmost group wins; it is replaced by its first-6/last-4 mask
# in ASCII digits.

import re  # noqa: E402
import unicodedata  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from stdnum import iban as _iban  # noqa: E402

SCRUB_MIN_DIGITS = 13
_SEPARATORS = (" \t\n\r\v\f._/\\-\u00a0\u1680\u2000-\u200a\u2010-\u2015\u2028\u2029\u202f"
               "\u205f\u2212\u3000\uff0d\uff0e\uff0f\uff3f")
_CHAIN = re.compile(rf"(?<!\d)\d(?:[{_SEPARATORS}]{{0,3}}\d){{{SCRUB_MIN_DIGITS - 1},}}")
_GROUP = re.compile(r"\d+")
_IBAN_LIKE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}")
# Digests, fingerprints and UUIDs are hex: a SHA-256 has a 13-digit Luhn-valid run now and
# then, and masking it would corrupt the very hash a reader checks. A hex token of 32 or more
# characters with at least one letter in it, or a hyphenated UUID, is not a card number.
_HEX_TOKEN = re.compile(
    r"(?<![0-9A-Za-z])(?:(?=[0-9]*[a-fA-F])[0-9a-fA-F]{32,}"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"(?![0-9A-Za-z])")
_NOT_DIGITS = bytes(b for b in range(256) if not 48 <= b <= 57)
# The shape of an ASCII text: digits as "0", separators as " ", anything else as "x" -- a
# bytes regex over it is about twice as fast as the Unicode one (the verification hot path).
_SHAPE = bytes(48 if 48 <= b <= 57 else 32 if chr(b) in " \t\n\r\v\f._/\\-" else 120
               for b in range(256))
_ASCII_CHAIN = re.compile(rb"(?<!0)0(?:[ ]{0,3}0){%d}" % (SCRUB_MIN_DIGITS - 1))


def _ascii_digits(group: str) -> str:
    if group.isascii():
        return group
    return "".join(str(unicodedata.decimal(c)) for c in group)


def luhn_valid(digits: str) -> bool:
    """Whether an ASCII digit string passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban_spans(text: str) -> list[tuple[int, int]]:
    """Spans of valid IBANs (longest valid prefix of an IBAN-looking run), kept as they are."""
    spans = []
    for match in _IBAN_LIKE.finditer(text):
        chars = [(i, c) for i, c in enumerate(match.group(0)) if c != " "]
        for length in range(min(len(chars), 34), 14, -1):
            if _iban.is_valid("".join(c for _, c in chars[:length])):
                spans.append((match.start(), match.start() + chars[length - 1][0] + 1))
                break
    return spans


def _pan_spans_in_chain(groups: list[re.Match[str]], offset: int) -> Iterator[tuple[int, int, str]]:
    digits = [_ascii_digits(g.group(0)) for g in groups]
    start = 0
    while start < len(groups):
        found = None
        total = 0
        for end in range(start, len(groups)):
            size = len(digits[end])
            if end > start + 1 and len(digits[end - 1]) < 3:
                break  # an inner group of one or two digits: not a card's grouping
            total += size
            if total > MAX_PAN_LENGTH:
                break
            if total >= SCRUB_MIN_DIGITS:
                joined = "".join(digits[start:end + 1])
                if luhn_valid(joined):
                    found = (end, joined)
        if found is None:
            start += 1
            continue
        end, joined = found
        yield offset + groups[start].start(), offset + groups[end].end(), joined
        start = end + 1


def find_pans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, ascii_digits)`` of every card number in ``text`` (see above)."""
    if len(text) < SCRUB_MIN_DIGITS:
        return []
    chains = list(_CHAIN.finditer(text))
    if not chains:
        return []
    kept = _iban_spans(text) if _IBAN_LIKE.search(text) else []
    kept += [m.span() for m in _HEX_TOKEN.finditer(text)]
    found = []
    for chain in chains:
        groups = [g for g in _GROUP.finditer(chain.group(0))
                  if not any(a <= chain.start() + g.start() < b for a, b in kept)]
        found.extend(_pan_spans_in_chain(groups, chain.start()))
    return found


def _too_few_digits(text: str) -> bool:
    """A fast pre-check: an ASCII text with fewer than 13 digits holds no card number."""
    return text.isascii() and len(text.encode().translate(None, _NOT_DIGITS)) < SCRUB_MIN_DIGITS


def may_hold_pan(text: str) -> bool:
    """False when ``text`` certainly holds no card number (under 13 characters, or ASCII with
    under 13 digits): one length test and one byte translation, no regex. A JSON dump made
    with ``ensure_ascii`` can be tested as a whole: escaped digits count as digits."""
    return len(text) >= SCRUB_MIN_DIGITS and not _too_few_digits(text)


def dump_may_hold_pan(dumped: str) -> bool:
    """Whether :func:`scrub_value` could mask anything in the value ``dumped`` is the JSON
    of (``json.dumps`` with ``ensure_ascii``): False when it is too short or has too few digits
    (:func:`may_hold_pan`), or holds no escape and :func:`scrub_pans` finds no card number in
    it. Without escapes every string of the value stands in the dump as it is, between
    quotes, which neither a digit chain nor a hex or IBAN exemption crosses: the one scan of
    the dump sees what scanning each string would. With an escape (a non-ASCII separator, a
    tab) only the walk can tell. Numbers a card number could be read into make it True; the
    walk then leaves them, as always."""
    if not may_hold_pan(dumped):
        return False
    return "\\" in dumped or scrub_pans(dumped) != dumped


def scrub_pans(text: str) -> str:
    """``text`` with every card number in it replaced by its first-6/last-4 mask (ASCII
    digits). Cheap when there is nothing to do: under 13 characters or no chain of 13 digits
    is one length test or one regex scan."""
    if not isinstance(text, str) or len(text) < SCRUB_MIN_DIGITS:
        return text
    if text.isascii():
        shape = text.encode().translate(_SHAPE)
        if shape.count(48) < SCRUB_MIN_DIGITS or not _ASCII_CHAIN.search(shape):
            return text
    elif not _CHAIN.search(text):
        return text
    spans = find_pans(text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end, digits in spans:
        parts += [text[last:start], digits[:6] + "*" * (len(digits) - 10) + digits[-4:]]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def scrub_value(value: object) -> object:
    """``value`` with :func:`scrub_pans` applied to every string in it, through dicts (keys and
    values), lists and tuples; other values as they are."""
    if isinstance(value, str):
        return scrub_pans(value)
    if isinstance(value, dict):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(v) for v in value)
    return value
