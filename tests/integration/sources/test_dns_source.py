"""DnsClient against a real local DNS server."""

from __future__ import annotations

import time

from checks.sources.dns import DnsClient, MxRecord


def client(dns_server, **kwargs) -> DnsClient:
    return DnsClient(dns_server.address, timeout=kwargs.get("timeout", 1.0),
                     lifetime=kwargs.get("lifetime", 2.0))


def test_dns_returns_a_aaaa_and_mx_sorted_by_preference(dns_server):
    records = client(dns_server).lookup("SHOP.test.")

    assert records.status == "ok"
    assert records.a == ("203.0.113.10",)
    assert records.aaaa == ("2001:db8::10",)
    assert records.mx == (MxRecord(10, "mx1.shop.test"), MxRecord(20, "mx2.shop.test"))
    assert records.to_dict()["mx"][0] == {"preference": 10, "exchange": "mx1.shop.test"}


def test_dns_name_without_mx_has_no_error(dns_server):
    records = client(dns_server).lookup("nomail.test")

    assert records.status == "ok" and records.mx == () and records.errors == ()


def test_dns_nxdomain_is_a_definite_answer(dns_server):
    records = client(dns_server).lookup("gone.test")

    assert records.status == "nxdomain"
    assert records.nxdomain and not records.timed_out
    assert dns_server.queries == [("gone.test", "A")]  # no further types asked


def test_dns_timeout_is_told_apart_from_nxdomain(dns_server):
    started = time.monotonic()

    records = client(dns_server, timeout=0.3, lifetime=0.6).lookup("slow.test")

    assert records.status == "timeout"
    assert records.timed_out and not records.nxdomain
    assert time.monotonic() - started < 3


def test_dns_servfail_is_an_error_not_nxdomain(dns_server):
    records = client(dns_server).lookup("broken.test", ("A",))

    assert records.status == "error"
    assert records.errors[0].kind == "no_nameservers"


def test_dns_lookup_of_idn_name_sends_a_labels(serve):
    from app.demo.sandbox import DnsServer

    server = serve(DnsServer({"xn--mteri-kva70e.com": {"A": ["203.0.113.5"]}}))

    records = DnsClient(server.address, timeout=1, lifetime=2).lookup("müşteri.com", ("A",))

    assert records.a == ("203.0.113.5",)
