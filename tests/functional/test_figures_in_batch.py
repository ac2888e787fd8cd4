"""The audit commit's figures hook (``app.audit.figures.figures_in_batch``): a merchant whose
figures cannot be updated costs neither the batch nor the other merchants their figures; on
PostgreSQL what the failing merchant half-wrote is undone. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

import app.services.figures as figures_service
from app.audit.figures import figures_in_batch
from app.audit.trail import EventDraft
from app.models import Merchant, MerchantFigures
from checks.policy import load_policy

POLICY = load_policy()


def _merchants(engine: sa.Engine, count: int) -> list[str]:
    with Session(engine) as session:
        rows = [Merchant(legal_name=f"Örnek {n} A.Ş.", country="TR", sector="5999")
                for n in range(count)]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def _sale(merchant_id: str, amount: str) -> EventDraft:
    return EventDraft(action="api.verify", actor="client:x", merchant_id=merchant_id,
                      decision="allow", amount=Decimal(amount), currency="TRY",
                      at=dt.datetime.now(dt.UTC))


def _figures(engine: sa.Engine) -> dict[str, tuple[int, Decimal]]:
    table = MerchantFigures.__table__
    with engine.connect() as conn:
        return {r.merchant_id: (r.sales_count, r.sales_try) for r in conn.execute(
            sa.select(table.c.merchant_id, table.c.sales_count, table.c.sales_try))}


def test_a_batch_settles_every_merchant_together(app):
    engine = app.extensions["kyb.engine"]
    first, second, third = _merchants(engine, 3)
    with engine.begin() as conn:
        figures_in_batch(POLICY)(conn, [_sale(first, "10"), _sale(second, "20"),
                                        _sale(first, "5"), _sale(third, "1")])
    assert _figures(engine) == {first: (2, Decimal("15")), second: (1, Decimal("20")),
                                third: (1, Decimal("1"))}


def test_a_merchant_that_fails_keeps_only_its_own_figures_short(app, monkeypatch, caplog):
    engine = app.extensions["kyb.engine"]
    broken, healthy = sorted(_merchants(engine, 2))
    real = figures_service._settled

    def failing(conn, merchant, row, *args):
        if row.merchant_id == broken:
            raise RuntimeError("figures unavailable")
        return real(conn, merchant, row, *args)

    monkeypatch.setattr(figures_service, "_settled", failing)
    with engine.begin() as conn:  # together first, then merchant by merchant
        figures_in_batch(POLICY)(conn, [_sale(broken, "10"), _sale(healthy, "20")])
    figures = _figures(engine)
    assert figures[healthy] == (1, Decimal("20"))
    assert figures.get(broken, (0, Decimal(0))) == (0, Decimal(0))  # SQLite: its empty row
    assert f"figures of merchant {broken} not updated" in caplog.text


def test_merchants_settled_together_get_the_rows_they_get_one_by_one(app):
    engine = app.extensions["kyb.engine"]
    now = dt.datetime.now(dt.UTC)
    ids = _merchants(engine, 6)
    with engine.begin() as conn:  # active for a week: the windows count
        conn.execute(sa.update(Merchant.__table__).values(
            activated_at=now - dt.timedelta(days=7)))
    alone, together = ids[:3], ids[3:]
    sales = [[(now - dt.timedelta(days=d, hours=h), Decimal(f"{100 * d + h}.25"))
              for d in range(3) for h in range(n + 1)] for n in range(3)]
    with engine.begin() as conn:
        for merchant_id, found in zip(alone, sales, strict=True):
            figures_service.apply_sales(conn, merchant_id=merchant_id, sales=found,
                                        policy=POLICY, now=now)
        crossed = figures_service.apply_sales_many(
            conn, sales=dict(zip(together, sales, strict=True)), policy=POLICY, now=now)
    assert set(crossed) == set(together)
    table, days = MerchantFigures.__table__, figures_service.DAYS

    def stored(merchant_id: str) -> tuple:
        with engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.merchant_id == merchant_id)).one()
            per_day = conn.execute(sa.select(days.c.day, days.c.sales_count, days.c.sales_try)
                                   .where(days.c.merchant_id == merchant_id)
                                   .order_by(days.c.day)).all()
        return tuple(v for k, v in row._mapping.items() if k != "merchant_id"), per_day

    for one, other in zip(alone, together, strict=True):
        assert stored(one) == stored(other)
