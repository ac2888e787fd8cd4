"""domain_age (R-A2) and domain_dns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checks.facts import DnsFacts, DomainRegistration
from checks.kyb.domain import domain_age, domain_dns


@pytest.mark.parametrize(
    ("age_days", "status"), [(0, "flag"), (89, "flag"), (90, "pass"), (91, "pass")]
)
def test_domain_age_flags_domains_younger_than_90_days(make_facts, policy, now, age_days, status):
    created = now.date() - timedelta(days=age_days)
    facts = make_facts(
        domain_registration=DomainRegistration("shop-example.com.tr", created, "rdap")
    )
    result = domain_age(facts, policy, now)
    assert result.status == status
    assert result.points == (20 if status == "flag" else 0)
    assert result.evidence["age_days"] == age_days
    assert result.evidence["policy"]["min_age_days"] == 90
    assert result.explanation == (
        f"Domain shop-example.com.tr was registered {age_days} days ago ({created.isoformat()}); "
        "the policy flags domains younger than 90 days."
    )


def test_domain_age_explains_with_the_example_wording(make_facts, policy, now):
    registration = DomainRegistration("shop-example.com.tr", now.date() - timedelta(days=41))
    result = domain_age(make_facts(domain_registration=registration), policy, now)
    assert result.explanation.startswith(
        "Domain shop-example.com.tr was registered 41 days ago (2026-10-11)"
    )


def test_domain_age_is_unknown_when_not_looked_up(make_facts, policy, now):
    result = domain_age(make_facts(domain_registration=None), policy, now)
    assert (result.status, result.points) == ("unknown", 5)


def test_domain_age_is_unknown_when_rdap_and_whois_gave_no_date(make_facts, policy, now):
    registration = DomainRegistration("shop.example", None, "whois", error="no creation date")
    result = domain_age(make_facts(domain_registration=registration), policy, now)
    assert result.status == "unknown"
    assert result.evidence["error"] == "no creation date"
    assert "no creation date" in result.explanation


def test_domain_dns_passes_a_resolving_domain_with_mx_and_matching_email(make_facts, policy, now):
    result = domain_dns(make_facts(), policy, now)
    assert (result.status, result.points) == ("pass", 0)


@pytest.mark.parametrize(
    ("dns", "email", "points"),
    [
        (DnsFacts(a=(), aaaa=(), mx=("mx.x",)), "info@shop-example.com.tr", 15),
        (DnsFacts(aaaa=("2001:db8::1",), mx=()), "info@shop-example.com.tr", 5),
        (DnsFacts(a=("203.0.113.1",), mx=("mx.x",)), "shop@gmail.com", 5),
        (DnsFacts(a=("203.0.113.1",), mx=("mx.x",)), "a@mail.shop-example.com.tr", 0),
        (DnsFacts(), "shop@other.example", 20),  # 15 + 5 + 5, capped at 20
    ],
)
def test_domain_dns_adds_points_per_problem_up_to_the_cap(
    make_facts, policy, now, dns, email, points
):
    result = domain_dns(make_facts(dns=dns, email=email, email_domain=None), policy, now)
    assert result.points == points
    assert result.status == ("flag" if points else "pass")


def test_domain_dns_names_a_free_mailbox(make_facts, policy, now):
    facts = make_facts(email="shop@gmail.com", email_domain="gmail.com")
    result = domain_dns(facts, policy, now)
    assert "free mailbox (gmail.com)" in result.explanation


@pytest.mark.parametrize(
    "changes",
    [{"dns": None}, {"website_domain": None}, {"dns": DnsFacts(error="timeout")}],
)
def test_domain_dns_is_unknown_without_a_lookup(make_facts, policy, now, changes):
    assert domain_dns(make_facts(**changes), policy, now).status == "unknown"
