"""The evidence filters (app/web/evidence.py, issue #11): JSON evidence values back into dates,
amounts and names in the reader's locale."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import Babel

from app.web.evidence import (
    country_name,
    fact_date,
    fact_money,
    fact_value,
    list_version,
    split_list,
)


@pytest.fixture(params=["en", "tr"])
def locale(request):
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: request.param)
    with app.test_request_context():
        yield request.param


def test_dates_and_timestamps_read_in_the_locale(locale):
    expected = {"en": "Nov 13, 2026", "tr": "13 Kas 2026"}[locale]
    assert fact_date("2026-11-13") == expected
    assert fact_date("2026-11-13T09:00:00+00:00") == expected
    assert fact_value("2026-11-13") == expected
    assert fact_date(None) == "—"
    assert fact_date("not a date") == "not a date"


def test_amounts_and_numbers_read_in_the_locale(locale):
    assert fact_money("700429.4700", "TRY") == {"en": "700,429.47 TRY",
                                                "tr": "700.429,47 TRY"}[locale]
    assert fact_value("18.42") == {"en": "18.42", "tr": "18,42"}[locale]
    assert fact_value(1162) == {"en": "1,162", "tr": "1.162"}[locale]
    assert fact_value(True) == "yes"  # no catalogue in this bare app: the English text


def test_country_names_come_from_the_locale_data(locale):
    assert country_name("TR") == {"en": "Türkiye (TR)", "tr": "Türkiye (TR)"}[locale]
    assert country_name("DE") == {"en": "Germany (DE)", "tr": "Almanya (DE)"}[locale]
    assert country_name("XX") == "XX"


def test_a_list_digest_is_cut_to_its_first_characters():
    digest = "sha256:" + "a8443a91" * 8
    assert list_version(digest) == "sha256:a8443a91a844…"
    assert list_version("2026-02-27T00:00:09.554Z") == "2026-02-27T00:00:09.554Z"
    assert split_list("OFAC SDN@" + digest) == ("OFAC SDN", digest)
    assert split_list("Local list") == ("Local list", "")
