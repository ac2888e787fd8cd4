"""``Money`` and ``UTCDateTime``: Decimal and aware UTC through a round trip on SQLite and
PostgreSQL alike (the ``db_url`` fixture runs each test on both)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from app.db import Money, UTCDateTime, as_utc, make_engine, session_scope, utcnow

metadata = sa.MetaData()
sample = sa.Table("db_type_sample", metadata,
                  sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("amount", Money(20, 4)),
                  sa.Column("at", UTCDateTime()))


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


def _round_trip(engine, **values):
    with engine.begin() as conn:
        row_id = conn.execute(sample.insert().values(**values)).inserted_primary_key[0]
    with engine.connect() as conn:
        return conn.execute(sa.select(sample).where(sample.c.id == row_id)).one()


@pytest.mark.parametrize(("given", "expected"), [
    (Decimal("0"), Decimal("0.0000")),
    (Decimal("0.0001"), Decimal("0.0001")),
    (Decimal("19.99"), Decimal("19.9900")),
    (Decimal("-250.5"), Decimal("-250.5000")),
    # the largest amount the API accepts (16 digits, 4 after the point)
    (Decimal("999999999999.9999"), Decimal("999999999999.9999")),
    (Decimal("1.00005"), Decimal("1.0000")),  # banker's rounding at the 4th place
    (Decimal("1.00015"), Decimal("1.0002")),
    ("123.45", Decimal("123.4500")),
])
def test_money_round_trips_as_an_exact_decimal(engine, given, expected):
    got = _round_trip(engine, amount=given).amount
    assert isinstance(got, Decimal)
    assert got == expected
    assert str(got) == str(expected)


def test_money_sums_in_sql_stay_exact(engine):
    with engine.begin() as conn:
        conn.execute(sample.insert(), [{"amount": Decimal("0.1")}, {"amount": Decimal("0.2")},
                                       {"amount": Decimal("1000000.0001")}])
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.sum(sample.c.amount))).scalar_one()
    assert isinstance(total, Decimal)
    assert total == Decimal("1000000.3001")


def test_money_null_stays_null(engine):
    assert _round_trip(engine, amount=None).amount is None


@pytest.mark.parametrize("given", [
    dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 1, 15, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=3))),
    dt.datetime(2026, 3, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
])
def test_datetimes_come_back_aware_utc_and_the_same_instant(engine, given):
    got = _round_trip(engine, at=given).at
    assert got.tzinfo is not None
    assert got.utcoffset() == dt.timedelta(0)
    assert got == given
    assert got.microsecond == given.microsecond


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(StatementError, match="naive"):
        _round_trip(engine, at=dt.datetime(2026, 3, 1, 12, 0))


def test_datetimes_order_and_compare_by_instant(engine):
    istanbul = dt.timezone(dt.timedelta(hours=3))
    early = dt.datetime(2026, 3, 1, 12, 0, tzinfo=istanbul)  # 09:00 UTC
    late = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(sample.insert(), [{"at": late}, {"at": early}])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sample.c.at).order_by(sample.c.at)).scalars().all()
        after = conn.execute(sa.select(sample.c.at).where(
            sample.c.at > dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC))).scalars().all()
    assert rows == [early, late]
    assert after == [late]


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.tzinfo is dt.UTC


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine):
    with session_scope(engine) as session:
        session.execute(sample.insert().values(amount=Decimal("1")))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.execute(sample.insert().values(amount=Decimal("2")))
        raise RuntimeError("boom")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sample.c.amount)).scalars().all() == [Decimal("1.0000")]


def test_as_utc_takes_a_naive_moment_as_utc_and_leaves_an_aware_one_alone():
    naive = dt.datetime(2026, 11, 28, 23, 59, 59, 999999)
    assert as_utc(naive) == naive.replace(tzinfo=dt.UTC)
    istanbul = dt.datetime(2026, 11, 29, 2, 59, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert as_utc(istanbul) is istanbul
    assert as_utc(istanbul) == dt.datetime(2026, 11, 28, 23, 59, tzinfo=dt.UTC)
