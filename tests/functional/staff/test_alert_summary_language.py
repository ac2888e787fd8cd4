"""Alert summaries are written in the reader's language (issue #11): an alert opened by the
monitoring service keeps its summary's template, and the Turkish console writes the sentence
in Turkish on the queue, the alert list, the alert page and the merchant page."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from app.audit.trail import Actor
from app.models import Alert, Merchant
from app.services.assessments import current_policy
from app.services.monitoring import open_alerts
from checks.monitoring.model import hit
from checks.wording import says

NOW = dt.datetime.now(dt.UTC)
ENGLISH = "transactions for 3 different customer accounts"
TURKISH = "3 farklı müşteri hesabı için işlem yaptı"


def _open(app) -> tuple[str, str]:
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        merchant = Merchant(legal_name="Ege Kırtasiye Ltd.", country="TR", status="approved",
                            tier="low")
        session.add(merchant)
        session.flush()
        day = NOW.date()
        summary = says("IP %(ip)s made transactions for %(count)s different customer "
                       "accounts on %(day)s (the policy alerts at %(limit)s).",
                       ip="198.51.100.7", count=3, day=day, limit=3)
        found = hit("ip_many_customers", "high", subject="ip:198.51.100.7", summary=summary,
                    period=str(day), evidence={"day": day}, occurred_at=NOW)
        (alert,) = open_alerts(session, merchant_id=merchant.id,
                               hits={f"{merchant.id}:{found.dedupe_key}": (found, NOW)},
                               actor=Actor(name="system:monitoring"), now=NOW,
                               policy=current_policy())
        session.commit()
        return merchant.id, alert.id


def test_an_opened_alert_keeps_its_summary_template(app):
    _, alert_id = _open(app)
    with Session(app.extensions["kyb.engine"]) as session:
        alert = session.get(Alert, alert_id)
        assert ENGLISH in alert.summary
        assert alert.summary_wording["args"]["count"] == 3


def test_the_turkish_console_writes_the_summary_in_turkish(staff_client, app):
    merchant_id, alert_id = _open(app)
    client, _ = staff_client("analyst")
    pages = ["/staff/", "/staff/alerts", f"/staff/alerts/{alert_id}",
             f"/staff/merchants/{merchant_id}"]
    for page in pages:
        english = client.get(f"{page}?lang=en").get_data(True)
        assert ENGLISH in english, page
        turkish = client.get(f"{page}?lang=tr").get_data(True)
        assert TURKISH in turkish and ENGLISH not in turkish, page
