"""The host's running totals with database leases (``app.dataplane.spend``; issue #14 item 3;
R-E5, SAMA 004 §15 g): exact on one host with any amounts, all or nothing, day and month
rollover on the policy's calendar, fail safe when no total can be kept, leases given back.

Every instant is passed explicitly (``HostSpend`` never reads the clock), on SQLite and, with
``KYB_TEST_POSTGRES_URL``, PostgreSQL. Concurrency across threads, processes and hosts is in
``tests/integration/test_spend_concurrency.py``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from api_keys.limits import Charge, period_key
from app.audit.spend import charges_to_details
from app.dataplane import spend_leases
from app.dataplane.spend import HostSpend, host_spend, limit_words
from app.db import make_engine
from app.models import SpendTotal

NOON = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
ISTANBUL = ZoneInfo("Europe/Istanbul")


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def host(tmp_path, engine):
    spend = HostSpend(tmp_path / "instance" / "spend.map", engine)
    yield spend
    spend.close()


def daily(amount: str, limit: str = "1000", subject: str = "merchant:mer_1",
          key: str | None = "2026-11-27") -> Charge:
    return Charge(subject, "day", "TRY", Decimal(amount), Decimal(limit), key)


def monthly(amount: str, limit: str, key: str | None = "2026-11") -> Charge:
    return Charge("merchant:mer_1", "month", "TRY", Decimal(amount), Decimal(limit), key)


def allowed(host: HostSpend, charges: list[Charge], at: dt.datetime = NOON, times: int = 10_000
            ) -> int:
    """Charge until refused; how many were allowed."""
    for count in range(times):
        if not host.charge(charges, at).allowed:
            return count
    return times


def test_one_host_allows_exactly_the_limit_over_the_amount(host):
    assert allowed(host, [daily("10")]) == 100
    refused = host.charge([daily("10")], NOON)
    assert (refused.allowed, refused.reason, refused.limit) == (
        False, "limit_exceeded", "merchant daily limit 1000 TRY")
    assert refused.available is True
    assert refused.charges[0]["spent"] == "1000"


def test_reaching_the_limit_exactly_is_allowed_and_the_smallest_unit_more_is_refused(host):
    assert host.charge([daily("999.9999")], NOON).allowed
    assert not host.charge([daily("0.0002")], NOON).allowed
    assert host.charge([daily("0.0001")], NOON).allowed
    assert not host.charge([daily("0.0001")], NOON).allowed


def test_one_host_is_exact_with_mixed_amounts(host):
    spent = Decimal(0)
    for amount in ["333.3", "250", "0.5", "400", "16.2", "100", "0.0001", "99.9999", "1"]:
        charge = daily(amount)
        assert host.charge([charge], NOON).allowed is charge.fits(spent)
        spent += charge.amount if charge.fits(spent) else 0
    assert host.host_totals(daily("1"), NOON)[1] == spent


def test_an_allowed_charge_carries_the_total_after_it_and_the_hosts_lease(host):
    result = host.charge([daily("12.5")], NOON)
    assert result.allowed and result.reason is None
    assert result.charges == ({"subject": "merchant:mer_1", "period": "day", "currency": "TRY",
                               "amount": "12.5", "limit": "1000", "key": "2026-11-27",
                               "spent": "12.5", "leased": "100"},)
    assert host.charge([daily("7.5")], NOON).charges[0]["spent"] == "20"


def test_the_evidence_is_the_audit_trails_charge_entry_with_the_totals(host):
    charges = [daily("0.50", key=None), monthly("1E+1", "5000")]
    result = host.charge(charges, NOON)
    assert [{k: v for k, v in entry.items() if k not in ("spent", "leased")}
            for entry in result.charges] == charges_to_details(charges)


def test_charges_are_all_or_nothing(host):
    """The day has room, the month does not: neither total moves."""
    assert host.charge([daily("60", "1000"), monthly("60", "100")], NOON).allowed
    refused = host.charge([daily("60", "1000"), monthly("60", "100")], NOON)
    assert (refused.allowed, refused.limit) == (False, "merchant monthly limit 100 TRY")
    assert host.host_totals(daily("1"), NOON)[1] == Decimal(60)
    assert host.charge([daily("40", "1000"), monthly("40", "100")], NOON).allowed


def test_the_limit_words_name_the_subject_the_period_and_the_amount(host):
    assert [limit_words(c) for c in (daily("1"), monthly("1", "5"), Charge(
        "key:key_1", "day", "USD", Decimal(1), Decimal("2.5")))] == [
        "merchant daily limit 1000 TRY", "merchant monthly limit 5 TRY",
        "key daily limit 2.5 USD"]


@pytest.mark.parametrize(("before", "after"), [
    (dt.datetime(2026, 11, 27, 20, 59, 59, 999999, tzinfo=dt.UTC),
     dt.datetime(2026, 11, 27, 21, 0, tzinfo=dt.UTC)),
])
def test_the_day_rolls_over_at_midnight_on_the_policys_calendar(host, before, after):
    """Istanbul's midnight is 21:00 UTC: just before it the full day refuses, just after it a
    new total starts (the verifier dates each charge with ``period_key`` on that calendar)."""
    def charge(at: dt.datetime) -> Charge:
        return daily("1000", key=period_key("day", at, ISTANBUL))
    assert host.charge([charge(before)], before).allowed
    assert not host.charge([charge(before)], before).allowed
    assert charge(after).key == "2026-11-28"
    assert host.charge([charge(after)], after).allowed


def test_the_month_rolls_over_at_midnight_on_the_policys_calendar(host):
    before = dt.datetime(2026, 11, 30, 20, 59, 59, 999999, tzinfo=dt.UTC)
    after = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)

    def charge(at: dt.datetime) -> Charge:
        return monthly("500", "500", key=period_key("month", at, ISTANBUL))
    assert host.charge([charge(before)], before).allowed
    assert not host.charge([charge(before)], before).allowed
    assert charge(after).key == "2026-12"
    assert host.charge([charge(after)], after).allowed


def test_the_month_rolls_over_at_midnight_for_charges_without_a_period_key(host):
    """A charge without a key counts in the UTC day or month of ``at`` (as the audit's)."""
    last = dt.datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
    first = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert host.charge([monthly("500", "500", key=None)], last).allowed
    assert not host.charge([monthly("0.0001", "500", key=None)], last).allowed
    assert host.charge([monthly("500", "500", key=None)], first).allowed
    assert spend_leases.leased(host.engine, ("merchant:mer_1", "2026-12", "TRY")) == 500


def test_a_table_full_of_live_totals_refuses_with_a_clear_reason(tmp_path, engine):
    host = HostSpend(tmp_path / "spend.map", engine, slots=4)
    for n in range(4):
        assert host.charge([daily("1", subject=f"merchant:mer_{n}")], NOON).allowed
    refused = host.charge([daily("1", subject="merchant:mer_new")], NOON)
    assert (refused.allowed, refused.available, refused.reason) == (
        False, False, "limit_exceeded")
    assert "running totals unavailable" in refused.limit and "4 slots" in refused.limit
    assert host.charge([daily("1", subject="merchant:mer_0")], NOON).allowed  # known: fine


def test_a_slot_is_reused_only_once_its_period_is_over_on_every_calendar(tmp_path, engine):
    """2026-11-27 ends at 12:00 UTC on the 28th on the latest calendar (UTC-12); the slot is
    reusable from 14:00 UTC."""
    host = HostSpend(tmp_path / "spend.map", engine, slots=1)
    assert host.charge([daily("1")], NOON).allowed
    reuse = dt.datetime(2026, 11, 28, 14, tzinfo=dt.UTC)
    tomorrow = daily("1", key="2026-11-28")
    assert not host.charge([tomorrow], reuse - dt.timedelta(microseconds=1)).allowed
    assert host.charge([tomorrow], reuse).allowed
    assert host.host_totals(daily("1"), NOON) is None  # the old total's slot was reused


def test_a_refund_gives_the_amount_back_to_the_host(host):
    assert allowed(host, [daily("250")]) == 4
    host.refund([daily("250")], NOON)
    assert host.charge([daily("250")], NOON).allowed
    assert not host.charge([daily("0.0001")], NOON).allowed
    host.refund([daily("1", key="2026-11-26")], NOON)  # no such total: nothing happens


def test_idle_leases_go_back_to_the_database_after_the_idle_time(host, engine):
    total = ("merchant:mer_1", "2026-11-27", "TRY")
    assert host.charge([daily("10")], NOON).allowed
    assert spend_leases.leased(engine, total) == 100
    assert host.release_idle(NOON + dt.timedelta(seconds=4.999)) == 0
    assert spend_leases.leased(engine, total) == 100
    assert host.release_idle(NOON + dt.timedelta(seconds=5)) == 1
    assert spend_leases.leased(engine, total) == 10
    assert host.host_totals(daily("1"), NOON) == (Decimal(10), Decimal(10))
    assert host.release_idle(NOON + dt.timedelta(seconds=60), everything=True) == 0


def test_idle_release_returns_what_one_host_stranded_to_another(tmp_path, engine):
    """Host A leased 100 and spent 50; host B is refused at 950 until A gives the rest back."""
    one = HostSpend(tmp_path / "a" / "spend.map", engine)
    other = HostSpend(tmp_path / "b" / "spend.map", engine)
    assert allowed(one, [daily("10")], times=5) == 5
    assert allowed(other, [daily("10")]) == 90
    one.release_idle(NOON + dt.timedelta(seconds=5))
    assert allowed(other, [daily("10")]) == 5
    assert allowed(one, [daily("10")]) == 0


def test_a_lowered_limit_applies_at_once(host, engine):
    """§15 e, f: 500 spent under 1,000 with 600 leased; lowered to 505, 10 more is refused."""
    assert allowed(host, [daily("100")], times=5) == 5
    assert not host.charge([daily("10", limit="505")], NOON).allowed
    assert host.charge([daily("5", limit="505")], NOON).allowed
    assert spend_leases.leased(engine, ("merchant:mer_1", "2026-11-27", "TRY")) == 505


def test_a_raised_limit_leases_more(host):
    assert allowed(host, [daily("100")]) == 10
    assert host.charge([daily("100", limit="1100")], NOON).allowed


def test_a_new_lease_starts_from_the_settled_total(host, engine):
    with engine.begin() as conn:
        conn.execute(sa.insert(SpendTotal.__table__).values(
            subject="merchant:mer_1", period="2026-11-27", currency="TRY",
            amount=Decimal(990), count=99, updated_at=NOON))
    result = host.charge([daily("10")], NOON)
    assert result.allowed and result.charges[0]["spent"] == "1000"
    assert not host.charge([daily("0.0001")], NOON).allowed


def test_a_lease_never_takes_the_total_past_the_limit(engine):
    """Amounts in units of 1/10,000: a limit of 1,000 units is 0.1 TRY."""
    total = ("key:key_1", "2026-11-27", "TRY")
    assert spend_leases.lease(engine, total, 10, 600, 1000, NOON).granted == 600
    assert spend_leases.lease(engine, total, 10, 600, 1000, NOON).granted == 400
    assert spend_leases.lease(engine, total, 1, 600, 1000, NOON).granted == 0
    spend_leases.give_back(engine, total, 30, NOON)
    assert spend_leases.lease(engine, total, 31, 100, 1000, NOON).granted == 0
    assert spend_leases.lease(engine, total, 20, 100, 1000, NOON).granted == 30
    assert spend_leases.leased(engine, total) == Decimal("0.1")


def test_without_its_database_a_host_refuses(tmp_path):
    """No ``spend_lease`` table (an unmigrated database): refused, not allowed uncounted."""
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    host = HostSpend(tmp_path / "spend.map", engine)
    refused = host.charge([daily("1")], NOON)
    assert (refused.allowed, refused.available) == (False, False)
    assert "running totals unavailable" in refused.limit
    engine.dispose()


@pytest.mark.parametrize("charge", [
    daily("-1"), daily("NaN"), daily("Infinity"),
    Charge("merchant:mer_1", "week", "TRY", Decimal(1), Decimal(10), "2026-11-27")])
def test_a_malformed_charge_is_refused_and_counts_nothing(host, charge):
    refused = host.charge([daily("1"), charge], NOON)
    assert (refused.allowed, refused.limit) == (False, "malformed limit charges")
    assert host.host_totals(daily("1"), NOON) is None


def test_the_hosts_file_is_spend_map_in_the_instance_folder(tmp_path, engine):
    spend = host_spend(tmp_path / "instance", engine, slots=8)
    assert spend.table.path == str(tmp_path / "instance" / "spend.map")
    assert spend.charge([daily("1")], NOON).allowed
    spend.close()


def test_no_charges_is_allowed_without_a_total(host):
    assert host.charge([], NOON).allowed


def test_leases_of_periods_over_for_two_days_are_pruned_and_the_rest_kept(engine):
    """The daily job ``prune_spend_leases``: at 2026-11-27 12:00 UTC the cut-off date is
    2026-11-25, so 11-24 (just over) goes and 11-25 (just under) stays; October goes, November
    stays. Giving back to a pruned total afterwards updates nothing and fails nothing."""
    for period in ("2026-11-24", "2026-11-25", "2026-11-27", "2026-10", "2026-11"):
        assert spend_leases.lease(engine, ("merchant:mer_1", period, "TRY"), 10, 10, 1000,
                                  NOON).granted == 10
    with engine.begin() as conn:
        assert spend_leases.prune(conn, NOON) == 2
    kept = {period for period in ("2026-11-24", "2026-11-25", "2026-11-27", "2026-10", "2026-11")
            if spend_leases.leased(engine, ("merchant:mer_1", period, "TRY")) is not None}
    assert kept == {"2026-11-25", "2026-11-27", "2026-11"}
    spend_leases.give_back(engine, ("merchant:mer_1", "2026-11-24", "TRY"), 10, NOON)
    with engine.begin() as conn:
        assert spend_leases.prune(conn, NOON) == 0  # idempotent
