"""Gathering a merchant's ``MerchantFacts`` for an assessment.

Network lookups (domain registration by RDAP then WHOIS, DNS, the website's prices) run
concurrently in a thread pool, each with its own time limit: one that fails or is not answered
in time becomes a fact with ``error`` set (or ``None``), and its check answers ``unknown`` —
never ``pass``. Database facts (IBAN history, owners, shared ownership, blacklist, screening,
sales) are read on the caller's session, in the caller's thread (a session is not thread-safe).

``reuse`` lets a re-assessment after a data change keep the network facts of the previous
snapshot and refresh only those that an affected check needs (R-D1): an IBAN change then
re-runs its checks without waiting on the merchant's website.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from sqlmodel import Session, select

from app.config import Settings
from app.models import Merchant, MerchantChange, Ownership, Person, Transaction
from app.services.blacklist import merchant_hits
from app.services.ownership import find_shared_ownership
from app.services.personal_data import SYSTEM, Disclosure, data_keys
from app.services.screening import lists_by_kind, screen_merchant
from app.services.screening_decisions import apply_dismissals
from app.validation import iban as parse_iban
from checks.facts import (
    DnsFacts,
    DomainRegistration,
    IbanFacts,
    MerchantFacts,
    Money,
    Owner,
    PriceRange,
    Sale,
    SitePrice,
    TransactionsSummary,
    WebsitePrices,
)
from checks.screening import ScreeningIndex
from checks.sources.dns import DnsClient, DnsLookup
from checks.sources.domains import host_of, registered_domain
from checks.sources.rdap import RdapClient
from checks.sources.registration import RegistrationLookup, RegistrationSource
from checks.sources.website import WebsiteFetcher, WebsiteSource
from checks.sources.whois import WhoisClient

# Which network fact each check needs, for refreshing only what a change affects.
NETWORK_FACTS = {"domain_registration": ("domain_age",), "dns": ("domain_dns",),
                 "website_prices": ("price_ticket_mismatch",)}
SALES_WINDOW_DAYS = 90  # sales kept for ticket sizes besides the turnover windows
PRICE_SOURCES = {"json-ld": "jsonld", "microdata": "microdata", "rdfa": "rdfa", "text": "text"}


@dataclass(frozen=True)
class LookupSources:
    """The adapters an assessment uses for its network lookups, and the time limit of each."""

    registration: RegistrationSource
    dns: DnsLookup
    website: WebsiteSource
    timeout: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = 15.0,
                      website_verify: Any = True) -> LookupSources:
        """Adapters configured by ``KYB_RDAP_BOOTSTRAP``, ``KYB_WHOIS_SERVER``,
        ``KYB_DNS_NAMESERVERS`` and ``KYB_FETCH_ALLOW_PRIVATE``. ``website_verify`` is the TLS
        trust for website fetches (True: the system's; tests pass their own CA context)."""
        step = max(1.0, timeout / 3)
        dns = DnsClient(settings.dns_nameservers or None, timeout=min(2.0, step), lifetime=step)
        registration = RegistrationLookup(
            RdapClient(settings.rdap_bootstrap, timeout=step,
                       allow_http=settings.fetch_allow_private),
            WhoisClient(settings.whois_server, timeout=step))
        website = WebsiteFetcher(allow_private=settings.fetch_allow_private,
                                 resolver=dns if settings.dns_nameservers else None,
                                 timeout=step, total_timeout=timeout - 1,
                                 verify=website_verify)
        return cls(registration, dns, website, timeout)


def lookup_sources() -> LookupSources:
    """The current app's sources (built from its settings on first use; tests may replace
    ``app.extensions["kyb.lookup_sources"]``)."""
    from flask import current_app

    from app.extensions import settings
    sources = current_app.extensions.get("kyb.lookup_sources")
    if sources is None:
        sources = LookupSources.from_settings(settings())
        current_app.extensions["kyb.lookup_sources"] = sources
    return sources


def gather_facts(session: Session, *, merchant: Merchant, sources: LookupSources,
                 index: ScreeningIndex | None, now: dt.datetime,
                 reuse: MerchantFacts | None = None,
                 refresh_checks: Collection[str] = ()) -> MerchantFacts:
    """Every fact the KYB checks read about ``merchant`` at ``now``.

    With ``reuse`` (the previous snapshot), network facts are taken from it unless one of
    ``refresh_checks`` needs them or the website changed since.
    """
    network = _network_facts(merchant, sources, reuse, refresh_checks)
    # One audit event for the owners' fields this assessment opens (R-D7).
    disclosure = Disclosure(actor=SYSTEM, purpose="assessment", keys=data_keys(session))
    hits, lists = screen_merchant(session, merchant=merchant, index=index)
    hits = apply_dismissals(session, merchant=merchant, hits=hits, index=index)  # issue #12
    contacts = disclosure.contacts(merchant)
    email_domain = registered_domain(contacts.email.rsplit("@", 1)[1]) if contacts.email \
        else None
    facts = MerchantFacts(
        merchant_id=merchant.id, legal_name=merchant.legal_name, trade_name=merchant.trade_name,
        country=merchant.country, capital=_money(merchant.capital_amount,
                                                 merchant.capital_currency),
        founded_on=merchant.founded_on, email=contacts.email, email_domain=email_domain,
        phone=contacts.phone, website=merchant.website, website_domain=merchant.website_domain,
        iban=iban_facts(merchant.iban), iban_changes=_iban_changes(session, merchant.id),
        declared_prices=_declared(merchant), transactions=_sales(session, merchant, now),
        owners=_owners(session, merchant.id, disclosure),
        shared_ownership=find_shared_ownership(session, merchant=merchant,
                                               disclosure=disclosure),
        screening_hits=hits, screened_lists=lists, **lists_by_kind(index),
        screening_matcher=index.matcher_version if index is not None else None,
        email_disposable=None if email_domain is None else email_domain in DISPOSABLE_DOMAINS,
        blacklist_hits=merchant_hits(session, merchant=merchant, disclosure=disclosure),
        **network)
    disclosure.record(session, merchant_id=merchant.id)
    return facts


def _network_facts(merchant: Merchant, sources: LookupSources, reuse: MerchantFacts | None,
                   refresh_checks: Collection[str]) -> dict[str, Any]:
    same_site = reuse is not None and reuse.website == merchant.website
    kept = {name: getattr(reuse, name) for name, codes in NETWORK_FACTS.items()
            if same_site and not set(codes) & set(refresh_checks)}
    wanted = {name: fn for name, fn in _lookups(merchant, sources).items() if name not in kept}
    return {**kept, **run_lookups(wanted, sources.timeout)}


def _lookups(merchant: Merchant, sources: LookupSources) -> dict[str, Callable[[], Any]]:
    if not merchant.website:
        return {}
    return {"domain_registration": lambda: registration_facts(sources, merchant),
            "dns": lambda: dns_facts(sources, merchant),
            "website_prices": lambda: price_facts(sources, merchant.website)}


def run_lookups(lookups: dict[str, Callable[[], Any]], timeout: float) -> dict[str, Any]:
    """Run ``lookups`` concurrently; a lookup that raises or outlives ``timeout`` seconds gives
    its failure value (``_failed``) instead of holding up the assessment."""
    if not lookups:
        return {}
    pool = ThreadPoolExecutor(max_workers=len(lookups), thread_name_prefix="kyb-lookup")
    futures = {name: pool.submit(fn) for name, fn in lookups.items()}
    wait(futures.values(), timeout=timeout, return_when=FIRST_EXCEPTION)
    wait(futures.values(), timeout=timeout)  # the others keep their full time limit
    pool.shutdown(wait=False, cancel_futures=True)
    results = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = _failed(name, f"no answer within {timeout:g} s")
        elif future.exception() is not None:
            exc = future.exception()
            results[name] = _failed(name, f"{type(exc).__name__}: {exc}")
        else:
            results[name] = future.result()
    return results


def _failed(name: str, error: str) -> Any:
    if name == "dns":
        return DnsFacts(error=error)
    if name == "website_prices":
        return WebsitePrices(error=error)
    return None  # domain_registration: "not looked up" → unknown


def registration_facts(sources: LookupSources, merchant: Merchant) -> DomainRegistration:
    """RDAP, then WHOIS, for the website's registered domain."""
    found = sources.registration.lookup(merchant.website_domain or merchant.website or "")
    return DomainRegistration(domain=found.domain, created_on=found.created_on,
                              source=found.source, error=found.error)


def dns_facts(sources: LookupSources, merchant: Merchant) -> DnsFacts:
    """A/AAAA of the website's host and MX of its registered domain. NXDOMAIN is "no
    records"; a timeout or server failure is an error."""
    host = host_of(merchant.website or "")
    domain = merchant.website_domain or host
    if host == domain:
        records = [sources.dns.lookup(host)]
        mx = records[0]
    else:
        records = [sources.dns.lookup(host, ("A", "AAAA")), sources.dns.lookup(domain, ("MX",))]
        mx = records[1]
    errors = [f"{r.name} {e.rtype}: {e.kind}" for r in records for e in r.errors
              if e.kind != "nxdomain"]
    return DnsFacts(a=records[0].a, aaaa=records[0].aaaa,
                    mx=tuple(m.exchange for m in mx.mx), error="; ".join(errors) or None)


def price_facts(sources: LookupSources, url: str) -> WebsitePrices:
    """Prices on the website's start page (those without a currency cannot be compared)."""
    found = sources.website.prices(url)
    if found.page.error:
        return WebsitePrices(error=f"{found.page.error_kind}: {found.page.error}")
    prices = tuple(SitePrice(amount=p.amount, currency=p.currency,
                             source=PRICE_SOURCES.get(p.source, p.source))
                   for p in found.prices if p.currency)
    return WebsitePrices(prices=prices)


def iban_facts(value: str | None) -> IbanFacts | None:
    """The payout IBAN validated by schwifty (checksum, length, country format)."""
    if not value:
        return None
    try:
        parsed = parse_iban(value)
    except ValueError as exc:
        return IbanFacts(iban=value, valid=False, country=value[:2].upper() or None,
                         error=str(exc))
    return IbanFacts(iban=parsed.compact, valid=True, country=parsed.country_code,
                     bank_code=parsed.bank_code or None)


def _iban_changes(session: Session, merchant_id: str) -> tuple[dt.datetime, ...]:
    return tuple(session.exec(select(MerchantChange.at).where(
        MerchantChange.merchant_id == merchant_id, MerchantChange.field == "iban")
        .order_by(MerchantChange.at)).all())


def _money(amount: Decimal | None, currency: str | None) -> Money | None:
    return Money(amount, currency) if amount is not None and currency else None


def _declared(merchant: Merchant) -> PriceRange | None:
    if merchant.declared_price_max is None or not merchant.declared_price_currency:
        return None
    return PriceRange(min=merchant.declared_price_min or Decimal(0),
                      max=merchant.declared_price_max, currency=merchant.declared_price_currency)


def _owners(session: Session, merchant_id: str, disclosure: Disclosure) -> tuple[Owner, ...]:
    rows = session.exec(select(Person, Ownership).join(Ownership, Ownership.person_id ==
                                                       Person.id)
                        .where(Ownership.merchant_id == merchant_id,
                               Ownership.removed_at.is_(None))).all()
    owners = []
    for p, o in rows:
        who = disclosure.identity(p, ("full_name", "birth_date"))
        owners.append(Owner(full_name=who.display_name, national_id_masked=p.national_id_masked,
                            birth_date=who.birth_date, nationality=p.nationality,
                            share_pct=o.share_pct, role=o.role))
    return tuple(sorted(owners, key=lambda x: x.full_name))


def _sales(session: Session, merchant: Merchant, now: dt.datetime) -> TransactionsSummary:
    """Sales up to ``now``: those inside the new-merchant turnover windows (90 days from
    activation) and those of the last ``SALES_WINDOW_DAYS`` days (ticket sizes)."""
    recent = now - dt.timedelta(days=SALES_WINDOW_DAYS)
    window = Transaction.occurred_at >= recent
    if merchant.activated_at is not None:
        early = merchant.activated_at + dt.timedelta(days=SALES_WINDOW_DAYS)
        window = window | ((Transaction.occurred_at >= merchant.activated_at)
                           & (Transaction.occurred_at < early))
    rows = session.exec(select(Transaction.occurred_at, Transaction.amount_try).where(
        Transaction.merchant_id == merchant.id, Transaction.type == "sale",
        Transaction.amount_try.is_not(None), Transaction.occurred_at <= now, window)
        .order_by(Transaction.occurred_at, Transaction.id)).all()
    return TransactionsSummary(activated_at=merchant.activated_at,
                               sales=tuple(Sale(at, amount) for at, amount in rows))
