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
    real = figures_service.apply_sales
    postgres = engine.dialect.name == "postgresql"

    def failing(conn, *, merchant_id, **kwargs):
        if merchant_id == broken:
            if postgres:  # half-written, then failing: the savepoint must undo it
                real(conn, merchant_id=merchant_id, **kwargs)
            raise RuntimeError("figures unavailable")
        return real(conn, merchant_id=merchant_id, **kwargs)

    monkeypatch.setattr(figures_service, "apply_sales", failing)
    with engine.begin() as conn:
        figures_in_batch(POLICY)(conn, [_sale(broken, "10"), _sale(healthy, "20")])
    assert _figures(engine) == {healthy: (1, Decimal("20"))}
    assert f"figures of merchant {broken} not updated" in caplog.text
