"""DNS adapter configuration and result summarising (no network)."""

from __future__ import annotations

import pytest

from checks.sources.dns import DnsQueryError, DnsRecords, MxRecord, parse_nameservers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("127.0.0.1:5353", (("127.0.0.1", 5353),)),
        ("9.9.9.9, [::1]:5353 ,1.1.1.1", (("9.9.9.9", 53), ("::1", 5353), ("1.1.1.1", 53))),
        (["127.0.0.1:53"], (("127.0.0.1", 53),)),
    ],
)
def test_parse_nameservers(value, expected):
    assert parse_nameservers(value) == expected


@pytest.mark.parametrize(
    ("records", "status"),
    [
        (DnsRecords("a.test", a=("192.0.2.1",)), "ok"),
        (DnsRecords("a.test", mx=(MxRecord(10, "mx.a.test"),)), "ok"),
        (DnsRecords("a.test"), "no_records"),
        (DnsRecords("a.test", errors=(DnsQueryError("A", "nxdomain", ""),)), "nxdomain"),
        (DnsRecords("a.test", errors=(DnsQueryError("A", "timeout", ""),)), "timeout"),
        (DnsRecords("a.test", errors=(DnsQueryError("A", "no_nameservers", ""),)), "error"),
    ],
)
def test_status_summarises_records_and_errors(records, status):
    assert records.status == status
    assert records.to_dict()["status"] == status
