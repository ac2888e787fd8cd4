"""R-B6 / R-C10: one customer account from 5 or more IPs in a (local) day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(("ips", "fires"), [(4, False), (5, True)])
def test_customer_many_ips_fires_at_five_addresses(run, tx, ips, fires):
    rows = [tx(NOW - timedelta(minutes=i), client_ip=f"198.51.100.{i}", customer_ref="cust-1")
            for i in range(ips)]
    hits = run("customer_many_ips", rows, NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].subject == "customer:cust-1"
        assert "5 different IP addresses" in hits[0].summary


def test_customer_many_ips_ignores_rows_without_ip_or_customer(run, tx):
    rows = [tx(NOW, client_ip=None, customer_ref="cust-1") for _ in range(6)]
    rows += [tx(NOW, client_ip=f"198.51.100.{i}", customer_ref=None) for i in range(6)]
    assert run("customer_many_ips", rows, NOW) == ()
