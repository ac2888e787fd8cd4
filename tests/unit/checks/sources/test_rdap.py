"""RDAP bootstrap parsing and RDAP document reading, without a network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.sources.rdap import (
    VENDORED_BOOTSTRAP,
    BootstrapError,
    RdapBootstrap,
    RdapClient,
    load_bootstrap,
    registrar_name,
    registration_event,
)


def test_vendored_bootstrap_is_the_real_iana_file():
    bootstrap = load_bootstrap()

    assert bootstrap.publication == "2024-02-07T04:00:02Z"
    assert bootstrap.origin == str(VENDORED_BOOTSTRAP)
    assert bootstrap.base_urls("example.com") == ("https://rdap.verisign.com/com/v1/",)
    assert bootstrap.base_urls("example.org") == ("https://rdap.publicinterestregistry.org/rdap/",)
    assert bootstrap.base_urls("example.com.tr") == ()  # .tr publishes no RDAP


def test_longest_matching_suffix_wins_and_https_comes_first():
    bootstrap = RdapBootstrap.from_document({
        "publication": "2026-01-01T00:00:00Z",
        "services": [[["uk"], ["https://uk.test/"]],
                     [["co.uk"], ["http://plain.test/", "https://couk.test/"]]],
    })

    assert bootstrap.base_urls("shop.co.uk") == ("https://couk.test/", "http://plain.test/")
    assert bootstrap.base_urls("shop.uk") == ("https://uk.test/",)


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"services": [[["com"], ["https://x/"]]]},
        {"publication": "2026", "services": []},
        {"publication": "2026", "services": [[["com"]]]},
        {"publication": "2026", "services": [[["com"], [1]]]},
    ],
)
def test_malformed_bootstrap_is_refused(document):
    with pytest.raises(BootstrapError):
        RdapBootstrap.from_document(document)


def test_missing_bootstrap_file_is_an_error_result_not_an_exception(tmp_path):
    result = RdapClient(str(tmp_path / "absent.json")).lookup("example.com")

    assert result.status == "error" and "bootstrap" in result.error


def test_registration_event_takes_earliest_and_normalises_to_utc():
    document = {"events": [
        {"eventAction": "expiration", "eventDate": "2030-01-01T00:00:00Z"},
        {"eventAction": "registration", "eventDate": "2026-08-23T13:00:00+03:00"},
        {"eventAction": "registration", "eventDate": "not a date"},
    ]}

    assert registration_event(document) == datetime(2026, 8, 23, 10, 0, tzinfo=UTC)
    assert registration_event({"events": []}) is None


def test_registrar_name_comes_from_registrar_vcard():
    document = {"entities": [
        {"roles": ["registrant"], "vcardArray": ["vcard", [["fn", {}, "text", "Owner"]]]},
        {"roles": ["registrar"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                                          ["fn", {}, "text", "Reg Inc."]]]},
    ]}

    assert registrar_name(document) == "Reg Inc."
    assert registrar_name({}) is None
