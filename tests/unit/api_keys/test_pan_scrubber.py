"""One scrubber for card numbers in free text (issue #13 item 4): every Luhn-valid run of
13-19 digits in any separator or digit script is masked, ordinary numbers are left alone."""

from __future__ import annotations

import json
import random
import string
import timeit

import pytest

from api_keys.cards import find_pans, luhn_valid, scrub_pans, scrub_value
from tests.pan_hunt import leaks, luhn

VISA = "4111111111111111"
MASK = "411111******1111"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize(("text", "scrubbed"), [
    # the issue's examples
    ("qty 3 4111111111111111", "qty 3 " + MASK),
    ("4111 1111 1111 1111", MASK),
    ("4111.1111.1111.1111", MASK),
    ("4111/1111/1111/1111", MASK),
    ("4111_1111_1111_1111", MASK),
    ("4111-1111-1111-1111", MASK),
    ("4111\n1111\n1111\n1111", MASK),
    ("4111\t1111\t1111\t1111", MASK),
    ("4111\u00a01111\u00a01111\u00a01111", MASK),
    ("4111  1111  1111  1111", MASK),
    ("4111\r\n1111 1111\n1111", MASK),
    ("card: 4111 111111 111111.", "card: " + MASK + "."),
    (VISA.translate(FULL_WIDTH), MASK),
    (VISA.translate(ARABIC_INDIC), MASK),
    (VISA.translate(DEVANAGARI), MASK),
    ("４１１１ １１１１ １１１１ １１１１", MASK),
    ("ref" + VISA + "x", "ref" + MASK + "x"),
    ("3782 822463 10005 then 5555555555554444", "378282*****0005 then 555555******4444"),
    ("4222222222222220004", "422222*********0004"),  # 19 digits
    ("/api/v1/auth/pay/4111111111111111?card=4111-1111-1111-1111",
     "/api/v1/auth/pay/" + MASK + "?card=" + MASK),
    ("4111111111111111 5", MASK + " 5"),
    ("TR33 0006 1005 1978 6457 8413 26 4111 1111 1111 1111",
     "TR33 0006 1005 1978 6457 8413 26 " + MASK),  # the IBAN is kept, the card beside it not
    ("TR330006100519786457841326 card " + VISA, "TR330006100519786457841326 card " + MASK),
])
def test_issue_examples_are_masked(text, scrubbed):
    assert scrub_pans(text) == scrubbed
    assert not leaks(scrub_pans(text), (VISA,))


@pytest.mark.parametrize("text", [
    "TR33 0006 1005 1978 6457 8413 26",  # a valid IBAN
    "TR330006100519786457841326",
    "DE89 3704 0044 0532 0130 00",
    "+90 212 555 12 34", "0532 123 45 67", "+44 20 7946 0958",
    "amount 1234567.89 TRY", "1.234.567,89", "9999999999.99",
    "2026-11-27", "2026-11-27 2026-11-28 2026-11-29 2026-11-30", "27.11.2026 28.11.2026",
    "2026-11-27T13:38:32.123456+00:00",
    "order 4111111111111112",  # 16 digits, not Luhn-valid
    "41111111111111110",  # 17 digits, not Luhn-valid
    "411111111111",  # 12 digits
    "41111111111111111111",  # 20 digits: not a card number
    "already 411111******1111 masked",
    "", "payment", "cust-000123",
    # a SHA-256 whose digit run 4871807734595 is Luhn-valid (it was masked once, and the
    # package hash in the audit trail no longer matched the package)
    "6c8d9ee58a3c1f4871807734595fbf048a991be849bf27a71cde18d5cbbe4ab4",
    "sha256=6C8D9EE58A3C1F4871807734595FBF048A991BE849BF27A71CDE18D5CBBE4AB4;",
    "6c8d9ee58a3c1f4871807734595fbf04",  # 32 hex characters (MD5, a bare UUID)
    "a7164466-5544-4000-8411-111111111111",  # a UUID whose tail group joins a Luhn run
])
def test_ordinary_numbers_are_kept(text):
    assert scrub_pans(text) == text


def _pan(rng: random.Random, length: int) -> str:
    body = str(rng.choice([2, 3, 4, 5, 6, 9])) + "".join(
        rng.choice(string.digits) for _ in range(length - 2))
    return next(body + d for d in string.digits if luhn(body + d))


def _split(rng: random.Random, pan: str) -> str:
    """``pan`` in random groups of 3-6 digits joined by random separators, in a random script."""
    separators = [" ", "\u00a0", "  ", ".", "/", "_", "-", "\n", "\t", "\r\n", " - ", "\u2009"]
    sep = rng.choice(separators)
    groups, rest = [], pan
    while rest:
        size = rng.randint(3, 6) if len(rest) > 6 else len(rest)
        groups.append(rest[:size])
        rest = rest[size:]
    text = "".join(g + (rng.choice(separators) if rng.random() < 0.2 else sep)
                   for g in groups)[:-1].rstrip()
    return text.translate(rng.choice([{}, FULL_WIDTH, ARABIC_INDIC, DEVANAGARI]))


def _filler(rng: random.Random) -> str:
    return rng.choice(["qty 3 ", "order 12 ", "ref ", "", "x", "2026-11-27 ", "amount 150.00 ",
                       "TR33 0006 1005 1978 6457 8413 26 ", "tel +90 212 555 12 34 "])


def test_any_card_in_any_form_and_company_is_masked():
    """Property: a random Luhn-valid 13-19 digit card, split and written in any separator or
    digit script, surrounded by ordinary numbers, never survives."""
    rng = random.Random(13)  # noqa: S311 - seeded test data
    for _ in range(3000):
        pan = _pan(rng, rng.randint(13, 19))
        text = _filler(rng) + _split(rng, pan) + " " + _filler(rng)
        scrubbed = scrub_pans(text)
        assert not leaks(scrubbed, (pan,)), (text, scrubbed)
        assert "*" in scrubbed and scrubbed.count("*") <= len(pan)  # masked, not erased


def test_ordinary_numbers_are_never_changed():
    """Property: text made only of numbers that are not Luhn-valid 13-19 digit runs (amounts,
    dates, phone numbers, short ids, long ids, IBANs) is kept exactly."""
    rng = random.Random(4)  # noqa: S311 - seeded test data

    def number() -> str:
        kind = rng.randrange(5)
        if kind == 0:
            return f"{rng.randint(0, 10**9)}.{rng.randint(0, 99):02d}"
        if kind == 1:
            return f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if kind == 2:
            return f"+90 {rng.randint(200, 599)} {rng.randint(100, 999)} {rng.randint(10, 99)} "\
                   f"{rng.randint(10, 99)}"
        if kind == 3:
            digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(13, 19)))
            return digits if not luhn(digits) else digits + "0" * 7  # not a card, or too long
        return str(rng.randint(0, 10**12))
    for _ in range(3000):
        text = " , ".join(number() for _ in range(rng.randint(1, 5)))
        assert scrub_pans(text) == text


def test_digests_and_uuids_are_never_changed():
    """Property: hex digests and UUIDs (audit details, package hashes, fingerprints) are kept
    exactly, though one in a few hundred has a Luhn-valid run of 13 digits inside."""
    import hashlib
    import uuid
    rng = random.Random(64)  # noqa: S311 - seeded test data
    for i in range(5000):
        digest = hashlib.sha256(str(i).encode()).hexdigest()
        text = f"package {digest} id {uuid.UUID(int=rng.getrandbits(128))} "
        assert scrub_pans(text) == text


def test_a_card_short_of_a_digest_or_beside_one_is_still_masked():
    digest = "6c8d9ee58a3c1f4871807734595fbf048a991be849bf27a71cde18d5cbbe4ab4"
    assert scrub_pans(f"{digest} {VISA}") == f"{digest} {MASK}"
    assert scrub_pans(f"abc{VISA}def") == f"abc{MASK}def"  # 22 hex characters: not a digest


def test_luhn_agrees_with_the_textbook():
    rng = random.Random(1)  # noqa: S311 - seeded test data
    for _ in range(2000):
        digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 19)))
        assert luhn_valid(digits) == luhn(digits)


def test_find_pans_reports_spans_and_digits():
    assert find_pans("qty 3 " + "4111 1111 1111 1111 ok") == [(6, 25, VISA)]


def test_scrub_value_walks_nested_details():
    value = {"note": "card 4111111111111111", "items": ["x", ("4111-1111-1111-1111", 3)],
             VISA: None, "n": 5}
    assert scrub_value(value) == {"note": "card " + MASK, "items": ["x", (MASK, 3)],
                                  MASK: None, "n": 5}
    assert scrub_pans(None) is None


def test_nothing_to_do_is_cheap():
    """The verification path scrubs short fields: under a microsecond or two each (measured
    generously for a shared machine)."""
    for text in ["payment", "cust-000123", "https://shop.example.com:8443",
                 "customer reference 2026-11-27 order 12345"]:
        per_call = min(timeit.repeat(lambda t=text: scrub_pans(t), number=2000, repeat=5)) / 2000
        assert per_call < 20e-6, (text, per_call)


# --- dump_may_hold_pan: the audit writer's one scan of an event's details (issue #14) -------

from api_keys.cards import dump_may_hold_pan  # noqa: E402

DETAILS_WITH_PANS = [
    {"note": "card 4111 1111 1111 1111"},
    {"nested": {"list": ["x", "5555-5555-5555-4444"]}},
    {"4111111111111111": "as a key"},
    {"nbsp": "4111\u00a01111\u00a01111\u00a01111"},  # escaped in the dump: only the walk sees it
    {"tabbed": "4111\t1111\t1111\t1111"},
    {"quoted": 'he said "4111111111111111"'},
    {"ref": "order-378282246310005-x"},
]
DETAILS_WITHOUT = [
    {"channel": "verify", "charges": [{"window": "day", "spent": "123456789.5000",
                                       "leased": "987654321.0000"}]},
    {"digest": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    {"iban": "TR33 0006 1005 1978 6457 8413 26"},
    {"ids": ["0123456789012", "12"], "when": "2026-11-28T02:30:00.123456Z"},
    {"amount": 4111111111111111},  # a number: the walk leaves numbers as they are
    {},
]


def test_the_dump_scan_never_skips_details_the_walk_would_mask():
    for details in DETAILS_WITH_PANS:
        dumped = json.dumps(details)
        assert scrub_value(details) != details, details
        assert dump_may_hold_pan(dumped), details


def test_details_without_card_numbers_skip_the_walk_and_the_walk_agrees():
    for details in DETAILS_WITHOUT:
        assert scrub_value(details) == details, details
    skipped = [d for d in DETAILS_WITHOUT if not dump_may_hold_pan(json.dumps(d))]
    assert len(skipped) == len(DETAILS_WITHOUT) - 1  # all but the bare number
    assert dump_may_hold_pan(json.dumps({"amount": 4111111111111111}))
