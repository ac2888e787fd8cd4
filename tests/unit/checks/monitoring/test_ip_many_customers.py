"""R-B6 / R-C10: one IP on 5 or more customer accounts in a (local) day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)  # 21:00 in Istanbul
IP = "203.0.113.7"


@pytest.mark.parametrize(("customers", "fires"), [(4, False), (5, True), (6, True)])
def test_ip_many_customers_fires_at_five_accounts(run, tx, customers, fires):
    rows = [tx(NOW - timedelta(minutes=i), client_ip=IP, customer_ref=f"cust-{i}")
            for i in range(customers)]
    rows.append(tx(NOW, client_ip=IP, customer_ref="cust-0"))  # a repeat is not a new account
    hits = run("ip_many_customers", rows, NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].subject == f"ip:{IP}"
        assert hits[0].dedupe_key == f"ip_many_customers:ip:{IP}:2026-11-21"


def test_ip_many_customers_counts_each_local_day_apart(run, tx):
    # 20:30 UTC is 23:30 local on the 20th; 21:30 UTC is 00:30 local on the 21st.
    rows = [tx(datetime(2026, 11, 20, 20, 30, tzinfo=UTC), client_ip=IP, customer_ref=f"a{i}")
            for i in range(3)]
    rows += [tx(datetime(2026, 11, 20, 21, 30, tzinfo=UTC), client_ip=IP, customer_ref=f"b{i}")
             for i in range(2)]
    assert run("ip_many_customers", rows, NOW) == ()
