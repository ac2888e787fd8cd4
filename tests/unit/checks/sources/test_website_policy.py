"""The website fetcher's address rules (no network)."""

from __future__ import annotations

import pytest

from checks.sources.website import WebsiteFetcher, address_refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("2002:7f00:1::1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("192.0.2.1", "private"),  # documentation range
        ("198.18.0.1", "private"),  # benchmarking range
        ("fec0::1", "site-local"),  # deprecated site-local, global to Python 3.11
        ("feff:ffff::1", "site-local"),
        ("2001:db8::1", "address"),  # documentation
        ("2001::1", "address"),  # Teredo
        ("100::1", "reserved"),  # discard-only
        ("3fff::1", "special-purpose"),  # documentation (RFC 9637)
    ],
)
def test_non_public_addresses_are_refused(address, reason):
    assert reason in address_refusal(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "100.63.255.255", "100.128.0.1",
                                     "2001:200::1", "2a00:1450::1"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(address) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "100.64.0.1", "fe80::1"])
def test_allow_private_lets_tests_reach_local_addresses(address):
    assert address_refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "224.0.0.1", "0.0.0.0"])  # noqa: S104
def test_metadata_multicast_unspecified_stay_refused_with_allow_private(address):
    assert address_refusal(address, allow_private=True) is not None


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://example.com/", "refused"),
        ("file:///etc/passwd", "refused"),
        ("http://user:pw@93.184.215.14/", "refused"),
        ("http://93.184.215.14:8080/", "refused"),
        ("http://10.0.0.1/", "refused"),
        ("http://[::1]/", "refused"),
        ("http://exa mple.com/", "invalid_url"),
    ],
)
def test_fetch_refuses_before_any_connection(url, kind):
    page = WebsiteFetcher(resolver=lambda host: ["10.0.0.1"]).fetch(url)

    assert page.error_kind == kind
    assert page.status_code is None


def test_name_with_any_private_address_is_refused():
    fetcher = WebsiteFetcher(resolver=lambda host: ["93.184.215.14", "10.0.0.1"])

    page = fetcher.fetch("http://mixed.example/")

    assert page.error_kind == "refused" and "10.0.0.1" in page.error
