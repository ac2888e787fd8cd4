"""The in-memory blacklist index (R-E2): every kind hits on its value and just misses beside it,
CIDR blocks by prefix length, and where ``blacklisted`` sits in the order of deny reasons."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from api_keys.blacklist import (
    EMPTY,
    BlacklistIndex,
    BlacklistProbe,
    Listed,
    card_key,
    customer_key,
    device_key,
    email_key,
    mask,
)
from api_keys.verification import VerificationRequest, verify

FP = "a" * 64
ENTRIES = [
    Listed("blk_ip", "ip", "203.0.113.9", "203.0.113.9"),
    Listed("blk_net", "ip", "198.51.100.0/24", "198.51.100.0/24"),
    Listed("blk_v6", "ip", "2001:db8:1::/48", "2001:db8:1::/48"),
    Listed("blk_card", "card", FP, "411111******1111"),
    Listed("blk_cust", "customer", "cust-77", "cus***"),
    Listed("blk_mail", "email", "fraud@example.com", "f***@example.com"),
    Listed("blk_tel", "phone", "+905321234567", "*********4567"),
    Listed("blk_dev", "device", "dev-abc", "dev***"),
    Listed("blk_iban", "iban", "TR330006100519786457841326", "TR33..."),  # not a traffic kind
]
INDEX = BlacklistIndex.build(ENTRIES, generation=7)


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(("probe", "entry_id"), [
    (BlacklistProbe(ip=ip("203.0.113.9")), "blk_ip"),
    (BlacklistProbe(ip=ip("203.0.113.10")), None),  # the next address
    (BlacklistProbe(ip=ip("198.51.100.0")), "blk_net"),  # first of the block
    (BlacklistProbe(ip=ip("198.51.100.255")), "blk_net"),  # last of the block
    (BlacklistProbe(ip=ip("198.51.101.0")), None),  # just outside it
    (BlacklistProbe(ip=ip("198.51.99.255")), None),  # just before it
    (BlacklistProbe(ip=ip("2001:db8:1:ffff::1")), "blk_v6"),
    (BlacklistProbe(ip=ip("2001:db8:2::1")), None),
    (BlacklistProbe(card_fingerprint=FP), "blk_card"),
    (BlacklistProbe(card_fingerprint="a" * 63 + "b"), None),
    (BlacklistProbe(customer_ref="cust-77"), "blk_cust"),
    (BlacklistProbe(customer_ref="cust-7"), None),
    (BlacklistProbe(email="fraud@example.com"), "blk_mail"),
    (BlacklistProbe(email="fraud@example.co"), None),
    (BlacklistProbe(phone="+905321234567"), "blk_tel"),
    (BlacklistProbe(phone="+905321234568"), None),
    (BlacklistProbe(device_id="dev-abc"), "blk_dev"),
    (BlacklistProbe(device_id="dev-abcd"), None),
    (BlacklistProbe(), None),
])
def test_each_kind_hits_its_value_and_misses_beside_it(probe, entry_id):
    found = INDEX.match(probe)
    assert (found.entry_id if found else None) == entry_id


def test_the_match_names_kind_field_and_masked_value():
    found = INDEX.match(BlacklistProbe(ip=ip("198.51.100.7"), card_fingerprint=FP))
    assert found.to_dict() == {"entry_id": "blk_net", "kind": "ip", "value": "198.51.100.0/24",
                               "field": "client_ip"}  # the IP is judged first
    card = INDEX.match(BlacklistProbe(ip=ip("192.0.2.1"), card_fingerprint=FP))
    assert (card.kind, card.field, card.masked) == ("card", "card_fingerprint",
                                                    "411111******1111")


def test_the_most_specific_block_wins_and_other_kinds_are_not_indexed():
    index = BlacklistIndex.build([Listed("wide", "ip", "10.0.0.0/8", "10.0.0.0/8"),
                                  Listed("narrow", "ip", "10.1.2.0/24", "10.1.2.0/24"),
                                  Listed("bad", "ip", "not-an-ip", "x")])
    assert index.match(BlacklistProbe(ip=ip("10.1.2.3"))).entry_id == "narrow"
    assert index.match(BlacklistProbe(ip=ip("10.9.9.9"))).entry_id == "wide"
    assert len(index) == 2 and len(INDEX) == 8 and INDEX.generation == 7


def test_an_empty_index_matches_nothing_and_is_falsy():
    assert not EMPTY and EMPTY.match(BlacklistProbe(ip=ip("203.0.113.9"))) is None


def test_normalisation_and_masks():
    assert (device_key(" DEV-ABC "), customer_key(" cust-77 "), email_key(" Fraud@Example.com"),
            card_key("A" * 64)) == ("dev-abc", "cust-77", "fraud@example.com", "a" * 64)
    assert card_key("Opaque_Token-1234") == "Opaque_Token-1234"  # not hex: kept as given
    assert mask("email", "fraud@example.com") == "f***@example.com"
    assert mask("phone", "+905321234567") == "*********4567"
    assert (mask("customer", "cust-77"), mask("device", "ab")) == ("cus***", "***")


def test_blacklisted_is_judged_after_key_state_and_before_the_whitelist(make_key, now,
                                                                          peppers):
    token, record = make_key()
    listed = BlacklistIndex.build([Listed("blk_x", "ip", "192.0.2.0/24", "192.0.2.0/24")])
    outside = VerificationRequest(token, ip("192.0.2.5"), "https://shop.example.com",
                                  probe=BlacklistProbe(ip=ip("192.0.2.5")))
    decision = verify(outside, record, now, peppers, accept_test_keys=True, blacklist=listed)
    assert (decision.reason, decision.blacklist.entry_id) == ("blacklisted", "blk_x")
    assert decision.merchant_id == record.merchant_id
    frozen = verify(outside, replace(record, frozen=True), now, peppers,
                    accept_test_keys=True, blacklist=listed)
    assert frozen.reason == "key_frozen"
    clean = VerificationRequest(token, ip("192.0.3.5"), "https://shop.example.com",
                                probe=BlacklistProbe(ip=ip("192.0.3.5")))
    assert verify(clean, record, now, peppers, accept_test_keys=True,
                  blacklist=listed).reason == "ip_not_allowed"
