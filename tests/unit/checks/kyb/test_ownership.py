"""shared_ownership (R-A6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from checks.facts import LinkedMerchant, Money, Owner, OwnerMerchantCount, SharedOwnership
from checks.kyb.ownership import age_on, shared_ownership


def linked(status: str, *shares: str) -> SharedOwnership:
    return SharedOwnership(
        linked=(LinkedMerchant("m-9", "Diğer Ltd", status, shares or ("owner",)),)
    )


def test_shared_ownership_passes_a_merchant_with_no_links(make_facts, policy, now):
    assert shared_ownership(make_facts(), policy, now).status == "pass"


def test_shared_ownership_is_unknown_without_the_lookup(make_facts, policy, now):
    assert shared_ownership(make_facts(shared_ownership=None), policy, now).status == "unknown"


@pytest.mark.parametrize(
    ("status", "points"), [("approved", 10), ("rejected", 25), ("suspended", 25)]
)
def test_shared_ownership_is_worse_when_the_linked_merchant_was_rejected_or_suspended(
    make_facts, policy, now, status, points
):
    result = shared_ownership(
        make_facts(shared_ownership=linked(status, "owner", "iban")), policy, now
    )
    assert (result.status, result.points) == ("flag", points)
    assert "shares owner, iban with merchant m-9" in result.explanation


@pytest.mark.parametrize(("merchants", "status"), [(3, "pass"), (4, "flag")])
def test_shared_ownership_flags_a_person_behind_more_merchants_than_the_policy_allows(
    make_facts, policy, now, merchants, status
):
    lookup = SharedOwnership(merchants_per_owner=(OwnerMerchantCount("Ayşe Yılmaz", merchants),))
    assert shared_ownership(make_facts(shared_ownership=lookup), policy, now).status == status


@pytest.mark.parametrize(("amount", "points"), [("99999.99", 20), ("100000", 10)])
def test_shared_ownership_low_capital_aggravates_a_link(make_facts, policy, now, amount, points):
    facts = make_facts(shared_ownership=linked("approved"), capital=Money(Decimal(amount), "TRY"))
    assert shared_ownership(facts, policy, now).points == points


def test_shared_ownership_low_capital_alone_does_not_flag(make_facts, policy, now):
    facts = make_facts(capital=Money(Decimal("1000"), "TRY"))
    assert shared_ownership(facts, policy, now).status == "pass"


@pytest.mark.parametrize(
    ("birth_date", "status"),
    [
        (date(2005, 11, 22), "flag"),  # 20 years old, turns 21 tomorrow
        (date(2005, 11, 21), "pass"),  # 21st birthday today
        (date(2005, 11, 20), "pass"),
    ],
)
def test_shared_ownership_flags_owners_younger_than_the_policy_age(
    make_facts, policy, now, birth_date, status
):
    owner = Owner("Genç Girişimci", birth_date=birth_date, nationality="TR")
    result = shared_ownership(make_facts(owners=(owner,)), policy, now)
    assert result.status == status
    assert result.points == (15 if status == "flag" else 0)


def test_shared_ownership_caps_points_at_the_policy_maximum(make_facts, policy, now):
    lookup = SharedOwnership(
        linked=linked("rejected").linked * 3,
        merchants_per_owner=(OwnerMerchantCount("Ayşe Yılmaz", 9),),
    )
    result = shared_ownership(make_facts(shared_ownership=lookup), policy, now)
    assert result.points == 45


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(2004, 2, 29), date(2025, 2, 28), 20),
        (date(2004, 2, 29), date(2025, 3, 1), 21),
        (date(2000, 1, 1), date(2020, 12, 31), 20),
    ],
)
def test_age_on_counts_whole_years(born, today, age):
    assert age_on(born, today) == age


def test_an_id_on_file_under_another_name_flags_with_both_names(make_facts, policy, now):
    """Issue #13 item 2: one national id cannot be two people."""
    from checks.facts import IdentityConflict
    lookup = SharedOwnership(identity_conflicts=(IdentityConflict(
        "1234*****90", "Cumhur Yakut", date(1955, 3, 18), "Ayşe Yılmaz", date(1984, 5, 2),
        ("mer_clean",)),))
    result = shared_ownership(make_facts(shared_ownership=lookup), policy, now)
    assert (result.status, result.points) == ("flag", 45)
    assert ('national id 1234*****90 was submitted for "Cumhur Yakut" (born 1955-03-18) but is '
            'on file for "Ayşe Yılmaz" (born 1984-05-02) at merchant(s) mer_clean'
            in result.explanation)
    assert result.evidence["identity_conflicts"][0]["submitted_name"] == "Cumhur Yakut"


def test_a_policy_before_identity_conflicts_weighs_one_as_a_bad_link(make_facts, now):
    from checks.facts import IdentityConflict
    from checks.policy import POLICY_DIR, load_policy
    older = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
    lookup = SharedOwnership(identity_conflicts=(IdentityConflict(
        None, "A B", None, "C D", None, ()),))
    result = shared_ownership(make_facts(shared_ownership=lookup), older, now)
    assert (result.status, result.points) == ("flag", 25)
