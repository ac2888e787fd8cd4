"""MerchantFacts and the other facts round-trip through JSON exactly."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from checks.facts import (
    BlacklistHit,
    LinkedMerchant,
    MerchantFacts,
    OwnerMerchantCount,
    ScreeningHit,
    SharedOwnership,
)

HIT = ScreeningHit(
    kind="pep",
    list_name="OpenSanctions PEP",
    list_version="sha256:ab12",
    entry_id="Q42",
    entry_name="Ali Veli",
    matched_alias="Ali Veli",
    subject="Ali Veli",
    subject_role="owner",
    score=88.5,
    birth_date_match=None,
    nationality_match=True,
    programs=("role.pep",),
)


@pytest.fixture
def full_facts(make_facts) -> MerchantFacts:
    return make_facts(
        iban_changes=(datetime(2026, 9, 1, 8, 0, tzinfo=UTC),),
        shared_ownership=SharedOwnership(
            linked=(LinkedMerchant("m-2", "Diğer", "rejected", ("owner", "signup_ip")),),
            merchants_per_owner=(OwnerMerchantCount("Ali Veli", 4),),
        ),
        screening_hits=(HIT,),
        blacklist_hits=(BlacklistHit("email", "x@y.z", "fraud"),),
    )


def test_merchant_facts_round_trip_through_json_exactly(full_facts):
    facts = full_facts
    text = json.dumps(facts.to_dict(), sort_keys=True)
    assert MerchantFacts.from_dict(json.loads(text)) == facts


def test_merchant_facts_store_decimals_as_strings_and_dates_in_iso(full_facts):
    data = full_facts.to_dict()
    assert data["capital"] == {"amount": "500000.00", "currency": "TRY"}
    assert data["founded_on"] == "2019-03-04"
    assert data["iban_changes"] == ["2026-09-01T08:00:00+00:00"]
    assert data["transactions"]["sales"][0]["amount_try"] == "150.00"


def test_missing_facts_round_trip_as_null():
    facts = MerchantFacts(merchant_id="m-3", legal_name="Yeni Ltd")
    data = json.loads(json.dumps(facts.to_dict()))
    assert data["dns"] is None and data["blacklist_hits"] is None
    assert MerchantFacts.from_dict(data) == facts


def test_screening_hit_keeps_its_fields():
    names = [f.name for f in dataclasses.fields(ScreeningHit)]
    assert names == [
        "kind",
        "list_name",
        "list_version",
        "entry_id",
        "entry_name",
        "matched_alias",
        "subject",
        "subject_role",
        "score",
        "birth_date_match",
        "nationality_match",
        "programs",
        "identifier_match",  # issue #12: identifiers confirm; per-feature explanation
        "explanation",
        "position",  # issue #12 item 4: a PEP's position
        "dismissal",  # issue #12 item 3: "not this person", remembered
    ]
    assert ScreeningHit.from_dict(json.loads(json.dumps(HIT.to_dict()))) == HIT
    old = {k: v for k, v in HIT.to_dict().items() if k not in ("identifier_match", "explanation",
                                                           "position", "dismissal")}
    assert ScreeningHit.from_dict(old) == HIT  # snapshots from before issue #12 still load


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("capital", "amount"), 1.5, "$.capital.amount: expected a decimal string"),
        (("capital", "amount"), "abc", "$.capital.amount: 'abc' is not a decimal number"),
        (("iban_changes",), ["2026-09-01T08:00:00"], "$.iban_changes[0]: expected a timezone"),
        (("founded_on",), 20190304, "$.founded_on: expected an ISO 8601 date"),
        (("email_disposable",), "no", "$.email_disposable: expected true or false"),
    ],
)
def test_from_dict_names_the_bad_field(full_facts, path, value, message):
    data = full_facts.to_dict()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("[", r"\[")):
        MerchantFacts.from_dict(data)


def test_from_dict_refuses_unknown_fields(full_facts):
    data = full_facts.to_dict() | {"colour": "red"}
    with pytest.raises(ValueError, match="unknown field"):
        MerchantFacts.from_dict(data)


def test_to_dict_refuses_naive_datetimes(full_facts):
    facts = dataclasses.replace(full_facts, iban_changes=(datetime(2026, 9, 1),))
    with pytest.raises(ValueError, match="naive datetime"):
        facts.to_dict()
