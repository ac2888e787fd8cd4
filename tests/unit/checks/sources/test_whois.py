"""WHOIS response parsing and date reduction, without a network."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from checks.sources.whois import earliest_date, parse_response, parse_server


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("whois.nic.tr:43", ("whois.nic.tr", 43)),
        ("127.0.0.1:4343", ("127.0.0.1", 4343)),
        ("[::1]:4343", ("::1", 4343)),
        ("whois.verisign-grs.com", ("whois.verisign-grs.com", 43)),
    ],
)
def test_parse_server(value, expected):
    assert parse_server(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ([], None),
        (datetime(2026, 8, 23, 10), datetime(2026, 8, 23, 10, tzinfo=UTC)),
        ([datetime(2026, 8, 23), datetime(2025, 1, 2)], datetime(2025, 1, 2, tzinfo=UTC)),
        (datetime(2026, 8, 23, 3, tzinfo=timezone(timedelta(hours=3))),
         datetime(2026, 8, 23, 0, tzinfo=UTC)),
        ("20260823", datetime(2026, 8, 23, tzinfo=UTC)),
        ("garbage", None),
        (["garbage", datetime(2026, 1, 1)], datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_earliest_date(value, expected):
    assert earliest_date(value) == expected


def test_parse_response_reads_verisign_creation_date():
    text = "   Domain Name: SHOP.COM\r\n   Creation Date: 2026-08-23T10:00:00Z\r\n" \
           "   Registrar: Example Registrar, Inc.\r\n"

    result = parse_response("shop.com", text)

    assert result.created_on == date(2026, 8, 23)
    assert result.to_dict()["registered_at"] == "2026-08-23T10:00:00+00:00"


def test_parse_response_empty_text_is_an_error():
    assert parse_response("shop.com", "  ").status == "error"
