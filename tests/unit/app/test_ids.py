"""Public identifiers: random ones for records, time-ordered ones for audit events."""

from __future__ import annotations

import re

from app.models.base import new_id, sortable_id

SHAPE = re.compile(r"^evt_[0-9a-hjkmnp-tv-z]{20}$")


def test_new_ids_are_random_crockford_base32():
    ids = {new_id("mer") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"mer_[0-9a-hjkmnp-tv-z]{20}", i) for i in ids)


def test_sortable_ids_sort_by_their_millisecond():
    earlier = [sortable_id("evt", now_ms=1_763_700_000_000) for _ in range(50)]
    later = [sortable_id("evt", now_ms=1_763_700_000_001) for _ in range(50)]
    assert max(earlier) < min(later)
    assert all(SHAPE.match(i) for i in earlier + later)


def test_sortable_ids_in_one_millisecond_still_differ():
    ids = {sortable_id("evt", now_ms=1_763_700_000_000) for _ in range(1000)}
    assert len(ids) == 1000  # 50 random bits each


def test_sortable_ids_cover_the_whole_time_range():
    assert sortable_id("evt", now_ms=0).startswith("evt_0000000000")
    assert sortable_id("evt", now_ms=2**50 - 1).startswith("evt_zzzzzzzzzz")


def test_base32_is_crockfords_most_significant_digit_first_for_any_length():
    from app.models.base import _ALPHABET, _base32
    assert _base32(0) == "0" * 20
    assert _base32(31, 1) == "z" and _base32(32, 2) == "10" and _base32(1023, 2) == "zz"
    assert _base32(2**100 - 1) == "z" * 20
    assert _base32(2**100) == "0" * 20  # only the low length × 5 bits
    value = 0x0123456789ABCDEF0123456789  # 105 bits: odd and even lengths, with bits to drop
    for length in (1, 2, 3, 19, 20, 21):
        expected, rest = [], value
        for _ in range(length):
            rest, digit = divmod(rest, 32)
            expected.append(_ALPHABET[digit])
        assert _base32(value, length) == "".join(reversed(expected))
