"""The console's audit search (issue #11): the actor is found by any part of it in any case,
the merchant column names the merchant, every link keeps the filters in the URL, and an actor
search examines a bounded window of the trail per page."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event

from app.audit.trail import Actor, record
from app.models import Merchant
from app.staff import audit_search

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def trail(db_session):
    return _record_trail(db_session)


def _record_trail(db_session) -> list[Merchant]:
    """Two merchants and events by three actors."""
    shops = []
    for name, trade in (("Anadolu Çiçekçilik Ltd. Şti.", "Anadolu Çiçek"),
                        ("Boğaziçi Kitabevi A.Ş.", None)):
        merchant = Merchant(legal_name=name, trade_name=trade, country="TR", status="applied",
                            created_at=NOW, updated_at=NOW)
        db_session.add(merchant)
        db_session.flush()
        shops.append(merchant)
    for i, actor in enumerate(("staff:Ayse@demo.kybgate.test", "staff:mehmet@demo.kybgate.test",
                               "client:backoffice-1", "staff:ayse@demo.kybgate.test")):
        record(db_session, Actor(name=actor).event(
            "merchant.note_added", target_type="merchant", merchant_id=shops[i % 2].id,
            at=NOW + dt.timedelta(minutes=i)))
    db_session.commit()
    return shops


def _rows(html: str) -> int:
    return html.count('<td class="num">')


@pytest.mark.parametrize(("term", "count"), [
    ("ayse", 2), ("AYSE", 2), ("Ayse@demo", 2), ("demo.kybgate", 3), ("backoffice", 1),
    ("staff:ayse@demo.kybgate.test", 2), ("nobody", 0), ("%", 0), ("_", 0)])
def test_actor_is_found_by_any_part_in_any_case(staff_client, trail, term, count):
    client, _ = staff_client("analyst")
    html = client.get("/staff/audit", query_string={"actor": term}).get_data(as_text=True)
    assert _rows(html) == count


def test_merchant_column_names_the_merchant(staff_client, trail):
    client, _ = staff_client("analyst")
    html = client.get("/staff/audit").get_data(as_text=True)
    assert ">Anadolu Çiçek</a>" in html  # the trade name
    assert ">Boğaziçi Kitabevi A.Ş.</a>" in html  # the legal name when there is no trade name
    assert f'title="{trail[0].id}"' in html  # the id is still there, on hover


def _links(html: str, marker: str) -> list[dict[str, list[str]]]:
    out = []
    for part in html.split('href="')[1:]:
        url = part.split('"', 1)[0].replace("&amp;", "&")
        if url.startswith(marker):
            out.append(parse_qs(urlsplit(url).query))
    return out


def test_every_link_keeps_the_filters_in_the_url(staff_client, trail, monkeypatch):
    monkeypatch.setattr(audit_search, "PAGE", 1)
    client, _ = staff_client("approver")
    filters = {"actor": "ayse", "action": "merchant.", "from": "2026-11-24",
               "to": "2026-11-24"}
    html = client.get("/staff/audit", query_string=filters).get_data(as_text=True)
    assert 'value="ayse"' in html and 'value="2026-11-24"' in html
    older = _links(html, "/staff/audit?")
    exports = _links(html, "/staff/audit/export.")
    assert older and len(exports) == 2
    for args in older + exports:
        assert {k: v[0] for k, v in args.items() if k in filters} == filters
    cursor = next(a for a in older if "before" in a)["before"][0]
    second = client.get("/staff/audit", query_string={**filters, "before": cursor})
    html = second.get_data(as_text=True)
    assert _rows(html) == 1
    newest = [a for a in _links(html, "/staff/audit?") if "before" not in a and "actor" in a]
    assert newest  # back to the newest page, filters kept


def test_actor_search_examines_a_bounded_window_and_continues_below_it(
        app, db_session, staff_client, monkeypatch):
    client, _ = staff_client("analyst")  # its login events come before the trail's four
    _record_trail(db_session)
    monkeypatch.setattr(audit_search, "SCAN_WINDOW", 2)
    statements = []

    def seen(conn, cursor, statement, params, context, executemany):
        if "FROM audit_event" in statement:
            statements.append((statement, params))

    engine = app.extensions["kyb.engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        html = client.get("/staff/audit", query_string={"actor": "ayse"}).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert _rows(html) == 1  # seq 3 and 4 searched: only the newest "ayse" event is there
    assert "data-searched-down-to=" in html
    assert any("seq >=" in sql for sql, _ in statements)
    cursor = next(a for a in _links(html, "/staff/audit?") if "before" in a)["before"][0]
    html = client.get("/staff/audit", query_string={"actor": "ayse", "before": cursor}
                      ).get_data(as_text=True)
    assert _rows(html) == 1  # the trail's first two events: the first "Ayse" event
