"""A PAN hunt, as an outside auditor runs it (issue #13 item 4), written independently of
``api_keys.cards.scrub_pans`` so the two check each other.

``leaks(text, pans)`` names every way ``text`` still holds a full card number: any contiguous
run of 13-19 digits (any digit script) that passes Luhn, any separator-joined run whose digits
total 13-19 and pass Luhn and whose inner groups look like a card's (three digits or more; a
phone number's 2-digit blocks are not a card), and any of the given ``pans`` whose digits
appear in a run's digits, whatever the grouping. Hex digests (32 or more hex characters: the
audit chain's hashes, fingerprints) are left out of the generic rules, where a 13-digit
Luhn-valid run turns up by chance in about one hash in a hundred; the given ``pans`` are
looked for in them too.
"""

from __future__ import annotations

import re
import unicodedata

_SEP = r"[\s._/\\\-\u00a0\u2010-\u2015\u2212\u3000\uff0d\uff0e\uff0f\uff3f]"
_RUN = re.compile(rf"\d+(?:{_SEP}{{1,3}}\d+)*")
_PLAIN = re.compile(r"\d+")
_DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32,}(?![0-9A-Za-z])")


def luhn(digits: str) -> bool:
    """Luhn, the textbook way."""
    checksum = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        checksum += d if i % 2 == 0 else sum(divmod(d * 2, 10))
    return checksum % 10 == 0


def ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def leaks(text: str, pans: tuple[str, ...] = ()) -> list[str]:
    """What in ``text`` is still a full card number (empty when nothing)."""
    text = ascii_digits(text)
    found = [pan for pan in pans for digest in _DIGEST.findall(text) if pan in digest]
    text = _DIGEST.sub("#", text)
    for match in _PLAIN.finditer(text):
        if 13 <= len(match.group(0)) <= 19 and luhn(match.group(0)):
            found.append(match.group(0))
    for match in _RUN.finditer(text):
        groups = _PLAIN.findall(match.group(0))
        digits = "".join(groups)
        card_like = all(len(g) >= 3 for g in groups[1:-1])
        if 13 <= len(digits) <= 19 and luhn(digits) and card_like and match.group(0) not in found:
            found.append(match.group(0))
        found.extend(pan for pan in pans if pan in digits)
    return found
