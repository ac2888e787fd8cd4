"""IP whitelist parsing (registration policy) and matching (per request)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from api_keys.whitelist import (
    MAX_ENTRIES,
    InvalidWhitelist,
    InvalidWhitelistEntry,
    NetworkSet,
    ip_allowed,
    parse_entry,
    parse_whitelist,
)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("8.8.8.8", "8.8.8.8/32"),
        (" 8.8.8.8 ", "8.8.8.8/32"),
        ("8.8.8.0/24", "8.8.8.0/24"),
        ("2a00:1450:4001::/48", "2a00:1450:4001::/48"),
        ("2A00:1450:4001::1", "2a00:1450:4001::1/128"),
        ("::ffff:8.8.8.8", "8.8.8.8/32"),
        ("::ffff:8.8.8.0/120", "8.8.8.0/24"),
    ],
)
def test_live_entry_is_normalised(entry, expected):
    assert str(parse_entry(entry, "live")) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("10.0.0.1/33", "not an IP address or a valid CIDR"),
        ("::1/129", "not an IP address or a valid CIDR"),
        ("garbage", "not an IP address or a valid CIDR"),
        ("", "not an IP address or a valid CIDR"),
        ("8.8.8.8/", "not an IP address or a valid CIDR"),
        ("8.8.8.8/-1", "not an IP address or a valid CIDR"),
        ("256.1.1.1", "not an IP address or a valid CIDR"),
        ("010.0.0.1", "not an IP address or a valid CIDR"),
        ("8.8.8.8/24", "host bits set"),
        ("2a00:1450::1/32", "host bits set"),
        ("fe80::1%eth0", "zone ids"),
        ("\uff18.8.8.8", "not an IP address"),  # full-width digit
        ("1" * 200, "not an IP address"),
    ],
)
@pytest.mark.parametrize("environment", ["live", "test"])
def test_bad_entry_is_refused_with_an_error_naming_it(entry, message, environment):
    with pytest.raises(InvalidWhitelistEntry) as caught:
        parse_entry(entry, environment)
    assert message in str(caught.value)
    assert repr(entry[:64]) in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "category"),
    [
        ("0.0.0.0/0", "every address"),
        ("::/0", "every address"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - a whitelist entry, not a bind
        ("::", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.5.0/24", "private"),
        ("192.168.1.10", "private"),
        ("fd00::/8", "private"),
        ("100.64.0.1", "CGNAT"),
        ("169.254.1.1", "link-local"),
        ("fe80::/10", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "documentation"),
        ("2001:db8::/32", "documentation"),
        ("::ffff:10.0.0.1", "private"),
        ("8.0.0.0/5", "private"),  # a broad range that swallows 10.0.0.0/8
        ("100::/64", "reserved"),
    ],
)
def test_live_key_refuses_non_public_ranges(entry, category):
    with pytest.raises(InvalidWhitelistEntry) as caught:
        parse_entry(entry, "live")
    assert category in str(caught.value)
    assert "live keys need public addresses" in str(caught.value)


@pytest.mark.parametrize("entry", ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "0.0.0.0/0"])
def test_test_key_may_use_non_public_ranges(entry):
    assert parse_entry(entry, "test") == ip_network(entry)


@pytest.mark.parametrize(
    ("entry", "needs_approval"),
    [
        ("8.8.8.0/24", False),
        ("8.8.8.0/23", True),
        ("2a00:1450:4001::/48", False),
        ("2a00:1450:4000::/47", True),
    ],
)
def test_ranges_broader_than_slash24_or_slash48_need_approval(entry, needs_approval):
    parsed = parse_whitelist([entry], "live")
    assert (ip_network(entry) in parsed.needs_approval) is needs_approval
    assert parsed.networks == (ip_network(entry),)


def test_whitelist_collects_every_bad_entry_and_deduplicates_good_ones():
    with pytest.raises(InvalidWhitelist) as caught:
        parse_whitelist(["8.8.8.8", "10.0.0.1/33", "bogus", "::1/129"], "live")
    assert [error.entry for error in caught.value.errors] == ["10.0.0.1/33", "bogus", "::1/129"]
    parsed = parse_whitelist(["8.8.8.8", "8.8.8.8/32", "::ffff:8.8.8.8", "1.1.1.1"], "live")
    assert parsed.as_strings() == ("1.1.1.1/32", "8.8.8.8/32")


def test_whitelist_refuses_too_many_entries():
    with pytest.raises(InvalidWhitelist):
        parse_whitelist([f"8.8.{i // 256}.{i % 256}" for i in range(MAX_ENTRIES + 1)], "live")


NETWORKS = NetworkSet.parse(["8.8.8.0/24", "8.8.9.0/24", "1.1.1.1/32", "2a00:1450::/32"])


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("8.8.8.0", True),
        ("8.8.9.255", True),
        ("8.8.7.255", False),
        ("8.8.10.0", False),
        ("1.1.1.1", True),
        ("1.1.1.2", False),
        ("1.1.1.0", False),
        ("::ffff:1.1.1.1", True),
        ("2a00:1450::1", True),
        ("2a00:1451::", False),
        (ip_address("8.8.8.8"), True),
        ("not-an-ip", False),
        ("", False),
        ("8.8.8.8 ", False),
        ("x" * 10_240, False),
    ],
)
def test_ip_allowed_on_the_range_boundaries(ip, allowed):
    assert ip_allowed(ip, NETWORKS) is allowed


def test_empty_network_set_allows_nothing():
    assert not ip_allowed("8.8.8.8", NetworkSet([]))


def test_network_set_merges_overlapping_ranges():
    merged = NetworkSet.parse(["8.8.8.0/24", "8.8.8.128/25", "8.8.0.0/16"])
    assert ip_allowed("8.8.200.1", merged)
    assert not ip_allowed("8.9.0.0", merged)
