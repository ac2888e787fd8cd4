"""R-C10 payment-account scenarios: each threshold just under and just over, and each
scenario's insufficient_data case (a missing field). Times are explicit aware UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks.monitoring import Activity, IdentityUse, judge
from checks.monitoring.model import Insufficient

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 15:00 in Istanbul
MORNING = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)  # 09:00 local, same local day


def transfers(tx, n, account="acc-1", parties=None, **fields):
    return [tx(MORNING + timedelta(minutes=i), "100", type="transfer", account_ref=account,
               counterparty_ref=(parties[i] if parties else None), **fields)
            for i in range(n)]


def verdict(policy, code, transactions, now=NOW, **activity):
    [found] = judge(Activity(tuple(transactions), **activity), policy, now, only=[code])
    return found


# --- more than 10 transfers a day -----------------------------------------------------------

@pytest.mark.parametrize(("count", "fires"), [(10, False), (11, True)])
def test_account_transfers_fires_above_ten_a_day(run, tx, count, fires):
    hits = run("account_transfers", transfers(tx, count), NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].dedupe_key == "account_transfers:account:acc-1:2026-11-21"
        assert hits[0].occurred_at == MORNING
        assert hits[0].evidence["transfers"] == 11


def test_account_transfers_ignores_sales_to_the_merchant(run, tx):
    sales = [tx(MORNING + timedelta(minutes=i), account_ref="acc-1") for i in range(20)]
    result = run("account_transfers", sales + transfers(tx, 1), NOW)
    assert result == () and not isinstance(result, Insufficient)


def test_account_transfers_without_account_ref_is_insufficient(policy, tx):
    found = verdict(policy, "account_transfers",
                    [tx(MORNING, type="transfer") for _ in range(20)])
    assert found.status == "insufficient_data" and "account_ref" in found.reason


# --- counterparties: >= 5 a day, >= 15 a month ----------------------------------------------

@pytest.mark.parametrize(("parties", "fires"), [(4, False), (5, True)])
def test_account_counterparties_five_a_day(run, tx, parties, fires):
    names = [f"p{i}" for i in range(parties)]
    hits = run("account_counterparties", transfers(tx, parties, parties=names), NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].dedupe_key == "account_counterparties:account:acc-1:2026-11-21"


@pytest.mark.parametrize(("parties", "fires"), [(14, False), (15, True)])
def test_account_counterparties_fifteen_a_month(run, tx, parties, fires):
    # Three a day over several days: never five in one day.
    rows = [tx(NOW - timedelta(days=1 + i // 3, hours=i % 3), "50", type="transfer",
               account_ref="acc-2", counterparty_ref=f"p{i}") for i in range(parties)]
    hits = run("account_counterparties", rows, NOW)
    monthly = [h for h in hits if ":month:" in h.dedupe_key]
    assert bool(monthly) is fires
    if fires:
        assert monthly[0].occurred_at == min(t.occurred_at for t in rows)


def test_account_counterparties_without_counterparty_is_insufficient(policy, tx):
    found = verdict(policy, "account_counterparties", transfers(tx, 12))
    assert found.status == "insufficient_data" and "counterparty_ref" in found.reason


# --- young or new accounts: 50 transactions or 27,500 TRY in the first month ----------------

@pytest.mark.parametrize(("count", "fires"), [(49, False), (50, True)])
def test_young_account_fifty_transactions_in_the_first_month(run, tx, count, fires):
    opened = NOW - timedelta(days=10)
    rows = [tx(opened + timedelta(hours=i), "10", account_ref="new-1", account_opened_at=opened)
            for i in range(count)]
    hits = run("young_account", rows, NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].occurred_at == opened
        assert hits[0].dedupe_key.startswith("young_account:account:new-1:new:")


@pytest.mark.parametrize(("amount", "fires"), [("27499.99", False), ("27500", True)])
def test_young_account_27500_try_in_the_first_month(run, tx, amount, fires):
    opened = NOW - timedelta(days=3)
    rows = [tx(opened + timedelta(hours=1), amount, type="transfer", account_ref="new-2",
               account_opened_at=opened)]
    assert bool(run("young_account", rows, NOW)) is fires


@pytest.mark.parametrize(("age_days", "fires"), [(29, True), (31, False)])
def test_young_account_only_in_its_first_month(run, tx, age_days, fires):
    opened = NOW - timedelta(days=age_days)
    rows = [tx(NOW - timedelta(hours=1), "30000", account_ref="a", account_opened_at=opened)]
    assert bool(run("young_account", rows, NOW)) is fires


@pytest.mark.parametrize(("born", "fires"), [(2007, True), (2006, False)])
def test_young_account_holder_under_twenty(run, tx, born, fires):
    rows = [tx(NOW - timedelta(days=2), "30000", account_ref="y", account_holder_birth_year=born)]
    assert bool(run("young_account", rows, NOW)) is fires


def test_young_account_without_opening_date_or_birth_year_is_insufficient(policy, tx):
    found = verdict(policy, "young_account", [tx(MORNING, "90000", account_ref="a")])
    assert found.status == "insufficient_data" and "account_opened_at" in found.reason


# --- one e-mail or phone behind several accounts within a year ------------------------------

def _identity(accounts):
    return (IdentityUse("email", "d" * 64, tuple(accounts)),)


@pytest.mark.parametrize(("accounts", "fires"), [(1, False), (2, True)])
def test_identity_reuse_two_accounts(run, tx, policy, accounts, fires):
    rows = [tx(MORNING, account_ref="a0", account_email_hash="d" * 64)]
    uses = [(f"a{i}", NOW - timedelta(days=100 - i)) for i in range(accounts)]
    hits = get_hits(policy, "identity_reuse", rows, identities=_identity(uses))
    assert bool(hits) is fires
    if fires:
        assert hits[0].occurred_at == uses[1][1]  # when the second account appeared


@pytest.mark.parametrize(("days_ago", "fires"), [(364, True), (366, False)])
def test_identity_reuse_within_a_year(policy, tx, days_ago, fires):
    rows = [tx(MORNING, account_ref="a0", account_email_hash="d" * 64)]
    uses = [("old", NOW - timedelta(days=days_ago)), ("a0", MORNING)]
    assert bool(get_hits(policy, "identity_reuse", rows, identities=_identity(uses))) is fires


def test_identity_reuse_without_email_or_phone_is_insufficient(policy, tx):
    found = verdict(policy, "identity_reuse", [tx(MORNING, account_ref="a0")], identities=())
    assert found.status == "insufficient_data" and "account_email" in found.reason


def test_identity_reuse_not_loaded_is_insufficient(policy, tx):
    rows = [tx(MORNING, account_ref="a0", account_phone_hash="p" * 64)]
    assert verdict(policy, "identity_reuse", rows).status == "insufficient_data"


def get_hits(policy, code, rows, **activity):
    return verdict(policy, code, rows, **activity).hits


# --- high-risk country by IP or phone -------------------------------------------------------

@pytest.mark.parametrize(("fields", "fires"), [
    ({"ip_country": "TR"}, False), ({"ip_country": "IR"}, True),  # FATF black
    ({"ip_country": "VE"}, True),  # FATF grey
    ({"phone_country": "CW"}, True),  # the policy's betting licensor
    ({"phone_country": "DE", "ip_country": "TR"}, False),
])
def test_risky_country_by_ip_or_phone(run, tx, fields, fires):
    hits = run("risky_country", [tx(MORNING, **fields)], NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].occurred_at == MORNING


def test_risky_country_without_ip_country_or_phone_is_insufficient(policy, tx):
    found = verdict(policy, "risky_country", [tx(MORNING, client_ip="203.0.113.9")])
    assert found.status == "insufficient_data" and "ip_country" in found.reason


# --- cash-intensive sector through a personal account ---------------------------------------

def _personal(tx, count, days, account_type="personal"):
    return [tx(NOW - timedelta(days=i % days, hours=1 + i), "200", account_ref="p-1",
               account_type=account_type) for i in range(count)]


@pytest.mark.parametrize(("count", "days", "fires"), [
    (9, 3, False), (10, 3, True), (10, 2, False),
])
def test_cash_sector_personal_account(policy, tx, count, days, fires):
    hits = get_hits(policy, "cash_sector_personal", _personal(tx, count, days), mcc="5944")
    assert bool(hits) is fires


def test_cash_sector_business_account_or_other_sector_is_clear(policy, tx):
    assert verdict(policy, "cash_sector_personal", _personal(tx, 20, 5, "business"),
                   mcc="5944").status == "clear"
    assert verdict(policy, "cash_sector_personal", _personal(tx, 20, 5),
                   mcc="5812").status == "clear"


def test_cash_sector_personal_insufficient_without_mcc_or_account_type(policy, tx):
    assert "MCC" in verdict(policy, "cash_sector_personal", _personal(tx, 20, 5)).reason
    rows = [tx(NOW - timedelta(hours=i)) for i in range(20)]
    found = verdict(policy, "cash_sector_personal", rows, mcc="6051")
    assert found.status == "insufficient_data" and "account_type" in found.reason
