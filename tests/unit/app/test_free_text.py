"""Free-text columns are masked on every flush (issue #13 item 4, app/models/free_text.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import AutoString, Session, SQLModel, create_engine

from app.models import CaseNote, Merchant, MerchantChange
from app.models.free_text import FREE_JSON, FREE_TEXT


def test_every_listed_column_is_a_text_column():
    for model, names in FREE_TEXT.items():
        for name in names:
            column = model.__table__.c[name]
            assert isinstance(column.type, sa.String | AutoString), (model.__name__, name)
    for model, names in FREE_JSON.items():
        assert all(name in model.__table__.c for name in names)


def test_card_numbers_are_masked_on_insert_and_update_but_structured_values_are_kept():
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        note = CaseNote(case_id="cas_1", author="a", text="card 4111.1111.1111.1111")
        trade = MerchantChange(merchant_id="mer_1", field="trade_name", old_value="x",
                               new_value="Shop 4111 1111 1111 1111", actor="a")
        phone = MerchantChange(merchant_id="mer_1", field="phone", old_value="+8613812345670",
                               new_value="+8613812345670", actor="a")
        merchant = Merchant(legal_name="Kart 5555555555554444 Ltd", country="TR",
                            registration_number="4111111111111111")
        session.add_all([note, trade, phone, merchant])
        session.flush()
        assert note.text == "card 411111******1111"
        assert trade.new_value == "Shop 411111******1111"
        assert phone.new_value == "+8613812345670"  # a change of a structured field: kept
        assert merchant.legal_name == "Kart 555555******4444 Ltd"
        assert merchant.registration_number == "4111111111111111"  # not free text
        note.text = "later ٤١١١١١١١١١١١١١١١"
        session.flush()
        assert session.execute(sa.text("SELECT text FROM case_note")).scalar_one() == \
            "later 411111******1111"
