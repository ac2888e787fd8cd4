"""Host normalisation and registered-domain reduction (bundled Public Suffix List only)."""

from __future__ import annotations

import pytest

from checks.sources.domains import (
    host_of,
    is_public_suffix,
    normalise_host,
    registered_domain,
    split_host,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Shop.Example.COM.", "shop.example.com"),
        ("müşteri.com", "xn--mteri-kva70e.com"),
        ("XN--MTERI-KVA70E.com", "xn--mteri-kva70e.com"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("192.0.2.1", "192.0.2.1"),
    ],
)
def test_normalise_host(value, expected):
    assert normalise_host(value) == expected


@pytest.mark.parametrize("value", ["", "a..b", "-bad-.com", "exa mple.com"])
def test_normalise_host_rejects_invalid_names(value):
    with pytest.raises(ValueError):
        normalise_host(value)


def test_host_of_accepts_urls_and_bare_hosts():
    assert host_of("https://user@Shop.Example.com:8443/x?y") == "shop.example.com"
    assert host_of("shop.example.com/path") == "shop.example.com"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("shop.example.com.tr", "example.com.tr"),
        ("https://www.example.co.uk/basket", "example.co.uk"),
        ("www.müşteri.com", "xn--mteri-kva70e.com"),
        ("a.b.c.example.com", "example.com"),
        ("com.tr", None),
        ("192.0.2.1", None),
        ("shop.unknowntld", None),
    ],
)
def test_registered_domain(host, expected):
    assert registered_domain(host) == expected


def test_private_suffix_is_recognised():
    parts = split_host("merchant.github.io")

    assert parts.is_private_suffix and parts.suffix == "github.io"
    assert is_public_suffix("github.io")
    assert not is_public_suffix("merchant.github.io")
    assert is_public_suffix("com.tr")
    assert parts.to_dict()["registered_domain"] == "merchant.github.io"
