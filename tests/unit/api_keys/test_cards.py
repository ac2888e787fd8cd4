"""Card masking and fingerprinting never let the full number out."""

from __future__ import annotations

import pytest

from api_keys.cards import InvalidCardNumber, fingerprint_pan, mask_pan, protect_pan

PEPPER = b"card-pepper-0123456789abcdef"
VISA = "4111111111111111"


@pytest.mark.parametrize(
    ("pan", "masked"),
    [
        (VISA, "411111******1111"),
        ("4111 1111 1111 1111", "411111******1111"),
        ("4111-1111-1111-1111", "411111******1111"),
        ("378282246310005", "378282*****0005"),  # 15-digit Amex
        ("6011000990139424", "601100******9424"),
        ("4222222222222220004", "422222*********0004"),  # 19 digits
    ],
)
def test_mask_keeps_first_six_and_last_four(pan, masked):
    assert mask_pan(pan) == masked


@pytest.mark.parametrize(
    "pan",
    [
        "4111111111111112",  # Luhn
        "41111111111",  # 11 digits
        "41111111111111111111",  # 20 digits
        "4111111111111111" + "1" * 100,
        "4111a11111111111",
        "\u0664\u0661\u0661\u0661" * 4,  # Arabic-Indic digits
        "\uff14111111111111111",  # full-width 4
        "",
        None,
        4111111111111111,
    ],
)
def test_invalid_card_numbers_are_refused_without_echoing_them(pan):
    with pytest.raises(InvalidCardNumber) as caught:
        mask_pan(pan)
    text = str(caught.value) + repr(caught.value)
    assert "1111111" not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_fingerprint_is_keyed_and_separator_insensitive():
    fingerprint = fingerprint_pan(VISA, PEPPER)
    assert len(fingerprint) == 64
    assert fingerprint == fingerprint_pan("4111 1111 1111 1111", PEPPER)
    assert fingerprint != fingerprint_pan(VISA, b"other-pepper-0123456789abcdef")
    assert fingerprint != fingerprint_pan("5555555555554444", PEPPER)


def test_fingerprint_refuses_a_short_pepper():
    with pytest.raises(ValueError):
        fingerprint_pan(VISA, b"short")


def test_protected_card_holds_no_full_number():
    card = protect_pan(VISA, PEPPER)
    assert VISA not in repr(card) and VISA not in str(card)
    assert card.masked == "411111******1111"
