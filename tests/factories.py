"""Test data factories: realistic, valid applications that tests vary field by field."""

from __future__ import annotations

import copy
from typing import Any

# Valid Turkish identity numbers (TCKN checksum) and tax number (VKN checksum).
TCKN = ["10000000146", "12345678950", "23456789138", "34567891238", "45678912316",
        "56789123416", "67891234594", "78912345694", "89123456772"]
VKN = "1234567890"


def application(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /api/v1/merchants`` body for a Turkish e-commerce merchant."""
    body: dict[str, Any] = {
        "legal_name": "Anadolu Çiçekçilik Ticaret Limited Şirketi",
        "trade_name": "Anadolu Çiçek",
        "country": "TR",
        "tax_id": VKN,
        "registration_number": "İST-123456",
        "founded_on": "2019-03-14",
        "capital": {"amount": "250000.00", "currency": "TRY"},
        "sector": "5992",
        "website": "https://anadolucicek.com.tr",
        "email": "finans@anadolucicek.com.tr",
        "phone": "+90 212 555 01 23",
        "iban": "TR330006100519786457841326",
        "expected_monthly_turnover": {"amount": "180000", "currency": "TRY"},
        "declared_prices": {"min": "150", "max": "2500", "currency": "TRY"},
        "owners": [
            {"full_name": "Ayşe Yılmaz", "national_id": TCKN[0], "birth_date": "1984-05-02",
             "nationality": "TR", "share_pct": "60", "role": "owner"},
            {"full_name": "İsmail Kılıç", "national_id": TCKN[1], "birth_date": "1979-11-20",
             "nationality": "TR", "share_pct": "40", "role": "owner"},
        ],
    }
    result = copy.deepcopy(body)
    result.update(overrides)
    return result


def person(session: Any, full_name: str, birth_date: Any = None, *,
           nationality: str | None = "TR", national_id: str | None = None) -> Any:
    """A ``Person`` sealed under the data keys of ``session``'s app (add it yourself)."""
    from app.models import Person
    from app.security import mask_identifier
    from app.services.personal_data import data_keys, seal_person
    row = Person(nationality=nationality,
                 national_id_masked=mask_identifier(national_id) if national_id else None)
    return seal_person(row, full_name=full_name, birth_date=birth_date, national_id=national_id,
                       keys=data_keys(session))
