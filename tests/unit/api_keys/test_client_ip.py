"""Client IP resolution behind trusted proxies."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from api_keys.client_ip import MAX_HOPS, resolve_client_ip
from api_keys.results import Failure
from api_keys.whitelist import NetworkSet

TRUSTED = NetworkSet.parse(["10.0.0.0/8", "2001:db8:ffff::/48"])
PROXY = "10.0.0.1"


@pytest.mark.parametrize(
    ("peer", "xff", "real_ip", "expected"),
    [
        # an untrusted peer: the headers are the client's own words and ignored
        ("8.8.8.8", "1.2.3.4", "5.6.7.8", "8.8.8.8"),
        ("::ffff:8.8.8.8", None, None, "8.8.8.8"),
        # a trusted proxy with no headers is the client
        (PROXY, None, None, PROXY),
        (PROXY, "", "", PROXY),
        # walked right to left, trusted hops skipped, the left-most spoof never used
        (PROXY, "1.2.3.4", None, "1.2.3.4"),
        (PROXY, "6.6.6.6, 1.2.3.4", None, "1.2.3.4"),
        (PROXY, "6.6.6.6, 1.2.3.4, 10.9.9.9", None, "1.2.3.4"),
        (PROXY, "6.6.6.6,1.2.3.4,10.9.9.9,10.8.8.8", None, "1.2.3.4"),
        (PROXY, "garbage, 1.2.3.4", None, "1.2.3.4"),  # garbage left of the client is moot
        (PROXY, "10.1.1.1, 10.2.2.2", None, "10.1.1.1"),  # all trusted: internal caller
        # ports and IPv6
        (PROXY, "1.2.3.4:5555", None, "1.2.3.4"),
        (PROXY, "[2a00:1450::1]:443", None, "2a00:1450::1"),
        (PROXY, "2a00:1450::1", None, "2a00:1450::1"),
        (PROXY, "::ffff:1.2.3.4", None, "1.2.3.4"),
        ("2001:db8:ffff::1", "1.2.3.4", None, "1.2.3.4"),
        # X-Real-IP only without X-Forwarded-For
        (PROXY, None, "1.2.3.4", "1.2.3.4"),
        (PROXY, "5.6.7.8", "1.2.3.4", "5.6.7.8"),
        (PROXY, None, " 1.2.3.4 ", "1.2.3.4"),
    ],
)
def test_client_ip_is_resolved(peer, xff, real_ip, expected):
    assert resolve_client_ip(peer, xff, real_ip, TRUSTED) == ip_address(expected)


@pytest.mark.parametrize(
    ("peer", "xff", "real_ip", "reason"),
    [
        ("garbage", None, None, "bad_peer"),
        ("", None, None, "bad_peer"),
        (None, None, None, "bad_peer"),
        (PROXY, "1.2.3.4, garbage", None, "garbage_forwarded_for"),
        (PROXY, "1.2.3.4, 10.0.0.9, not-an-ip", None, "garbage_forwarded_for"),
        (PROXY, "1.2.3.4,", None, "garbage_forwarded_for"),
        (PROXY, "1.2.3.4:99999999", None, "garbage_forwarded_for"),
        (PROXY, "unknown", None, "garbage_forwarded_for"),
        (PROXY, "1.2.3.4\u200b", None, "garbage_forwarded_for"),
        (PROXY, None, "garbage", "garbage_real_ip"),
        (PROXY, None, "1.2.3.4, 5.6.7.8", "garbage_real_ip"),
        (PROXY, "1.2.3.4, " * 10_000, None, "header_too_large"),
        (PROXY, "x" * 10_240, None, "header_too_large"),
        (PROXY, None, "x" * 10_240, "header_too_large"),
        (PROXY, ", ".join(["1.2.3.4"] * (MAX_HOPS + 1)), None, "too_many_hops"),
    ],
)
def test_untrustworthy_input_is_refused(peer, xff, real_ip, reason):
    result = resolve_client_ip(peer, xff, real_ip, TRUSTED)
    assert isinstance(result, Failure)
    assert result.reason == reason


def test_exactly_max_hops_are_accepted():
    xff = ", ".join(["1.2.3.4"] * MAX_HOPS)
    assert resolve_client_ip(PROXY, xff, None, TRUSTED) == ip_address("1.2.3.4")


def test_huge_headers_from_an_untrusted_peer_are_not_even_read():
    assert resolve_client_ip("8.8.8.8", "x" * 10_240, None, TRUSTED) == ip_address("8.8.8.8")


def test_bare_ipv6_with_a_trailing_number_is_an_address_not_a_port():
    # "2a00:1450::1:443" is itself a valid IPv6 address; ports on IPv6 need brackets.
    result = resolve_client_ip(PROXY, "2a00:1450::1:443", None, TRUSTED)
    assert result == ip_address("2a00:1450::1:443")
