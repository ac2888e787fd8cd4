"""The whole database after a normal life (issue #13, R-D7): a merchant user signs up and
applies through the portal, the application is assessed, the merchant changes its e-mail and
phone and is notified — then raw SQL over every table (SQLite and PostgreSQL) finds no owner's
name or birth date, no national id, no portal address, no contact e-mail or phone in clear."""

from __future__ import annotations

import sqlalchemy as sa

from app.jobs import run_queued_jobs
from tests.factories import TCKN
from tests.functional.portal.conftest import apply
from tests.functional.staff.test_sealed_assessments import cells

PORTAL = "kurucu@anadolucicek.example"
CLEAR = ("Ayşe Yılmaz", "Yılmaz", "İsmail Kılıç", "Kılıç", "1984-05-02", "1979-11-20",
         TCKN[0], TCKN[1], PORTAL, "finans@anadolucicek.com.tr", "muhasebe@anadolucicek.com.tr",
         "+902125550123", "2125550123", "+902165554433", "2165554433")


def test_no_table_holds_personal_data_in_clear(app, api, portal_user, db_session):
    user = portal_user(PORTAL)
    merchant = apply(user, db_session)
    run_queued_jobs(app)  # the application's assessment
    assert api.post(f"/api/v1/merchants/{merchant.id}/assessments").status_code == 201
    resp = api.patch(f"/api/v1/merchants/{merchant.id}", json={
        "email": "muhasebe@anadolucicek.com.tr", "phone": "+90 216 555 44 33",
        "reason": "new accountant"})
    assert resp.status_code == 200, resp.get_json()
    run_queued_jobs(app)
    with app.extensions["kyb.engine"].connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
                  for t in ("assessment", "notification", "merchant_user", "person")}
    assert counts["assessment"] >= 2 and counts["notification"] >= 2, counts
    assert "Anadolu Çiçekçilik" in cells(app, "merchant")  # the scan reads what is there
    found = {table: [c for c in CLEAR if c in text] for table in tables
             if (text := cells(app, table))}
    assert {t: f for t, f in found.items() if f} == {}
