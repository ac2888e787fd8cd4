"""Payment-account scenarios of R-C10 (TCMB guide, "Ödeme Hesabına İlişkin Hizmetlerde Risk
Göstergeleri"): many transfers a day, many counterparties a day or a month, busy young or new
accounts, one e-mail or phone behind several accounts, risky countries by IP or phone, and a
personal account run through a cash-intensive business.

They read the account fields of a transaction (``account_ref``, ``account_opened_at``,
``counterparty_ref``...). A merchant whose feed does not carry them gets ``insufficient_data``
with the missing field named, never a silent "clear".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from checks.monitoring.model import (
    Activity,
    Insufficient,
    MonitoredTransaction,
    ScenarioHit,
    earliest,
    hit,
)
from checks.monitoring.registry import scenario
from checks.monitoring.windows import (
    local_day,
    money,
    month_label,
    recent_days,
    severity,
    total,
    trailing,
)
from checks.policy import Policy
from checks.wording import Says, says

COUNTED = ("sale", "transfer")  # an account's own payments; refunds and chargebacks undo them


def _by_account(rows: Iterable[MonitoredTransaction],
                kind: str | None = None) -> dict[str, list[MonitoredTransaction]]:
    out: dict[str, list[MonitoredTransaction]] = defaultdict(list)
    for t in rows:
        if t.account_ref and (kind is None or t.type == kind):
            out[t.account_ref].append(t)
    return out


@scenario("account_transfers")
def account_transfers(activity: Activity, policy: Policy,
                      now: datetime) -> tuple[ScenarioHit, ...]:
    """More than ``transfers_per_day_max`` transfers of one account in a local day."""
    code, limit = "account_transfers", policy.monitoring.param("transfers_per_day_max")
    days = recent_days(activity.transactions, now, policy)
    hits, seen = [], False
    for day, rows in sorted(days.items()):
        for account, done in sorted(_by_account(rows, "transfer").items()):
            seen = True
            if len(done) > limit:
                summary = says("Account %(account)s made %(count)s transfers on %(day)s (the "
                               "policy alerts above %(limit)s).", account=account,
                               count=len(done), day=day, limit=limit)
                hits.append(hit(code, severity(policy, code), subject=f"account:{account}",
                                summary=summary, period=str(day), occurred_at=done[0].occurred_at,
                                evidence={"day": day, "account_ref": account,
                                          "transfers": len(done), "max_per_day": limit,
                                          "transaction_ids": [t.transaction_id for t in done]}))
    if not seen:
        return Insufficient("no transfer of the previous or current local day names its "
                            "account (type transfer with account_ref)")
    return tuple(hits)


@scenario("account_counterparties")
def account_counterparties(activity: Activity, policy: Policy,
                           now: datetime) -> tuple[ScenarioHit, ...]:
    """One account's transfers with >= ``counterparties_per_day`` distinct counterparties in a
    local day, or >= ``counterparties_per_month`` in the trailing window."""
    params = policy.monitoring.params
    window = params["counterparties_window_days"]
    month_rows = [t for t in trailing(activity.transactions, now, window) if t.counterparty_ref]
    if not _by_account(month_rows, "transfer"):
        return Insufficient(f"no transfer of the last {window} days names both its account "
                            f"and its counterparty (account_ref, counterparty_ref)")
    hits = []
    for day, rows in sorted(recent_days(month_rows, now, policy).items()):
        hits.extend(_counterparty_hits(rows, policy, f"{day}", params["counterparties_per_day"],
                                       says("on %(day)s", day=day)))
    hits.extend(_counterparty_hits(month_rows, policy, f"month:{month_label(now, policy)}",
                                   params["counterparties_per_month"],
                                   says("in the last %(days)s days", days=window)))
    return tuple(hits)


def _counterparty_hits(rows: list[MonitoredTransaction], policy: Policy, period: str,
                       limit: int, when: Says) -> list[ScenarioHit]:
    code, hits = "account_counterparties", []
    for account, done in sorted(_by_account(rows, "transfer").items()):
        parties = sorted({t.counterparty_ref for t in done if t.counterparty_ref})
        if len(parties) < limit:
            continue
        summary = says("Account %(account)s transferred with %(count)s different "
                       "counterparties %(when)s (the policy alerts at %(limit)s).",
                       account=account, count=len(parties), when=when, limit=limit)
        hits.append(hit(code, severity(policy, code, "high"), subject=f"account:{account}",
                        summary=summary, period=period, occurred_at=earliest(done),
                        evidence={"account_ref": account, "counterparties": len(parties),
                                  "threshold": limit, "period": period,
                                  "counterparty_refs": parties[:50]}))
    return hits


@scenario("young_account")
def young_account(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """A new account (opened within ``young_account_window_days``) or a young holder's (under
    ``young_holder_age``) with >= ``young_account_max_transactions`` sales/transfers or >=
    ``young_account_max_try`` TRY in the first month (the trailing month for a young holder)."""
    params = policy.monitoring.params
    days = params["young_account_window_days"]
    rows = [t for t in trailing(activity.transactions, now, days + 2) if t.type in COUNTED]
    accounts = _by_account(rows)
    known = [a for a, done in accounts.items()
             if any(t.account_opened_at or t.account_holder_birth_year for t in done)]
    if not known:
        return Insufficient("no transaction of the last month names its account's opening date "
                            "or holder's birth year (account_opened_at, "
                            "account_holder_birth_year)")
    hits = []
    for account in sorted(known):
        found = _young_hit(account, accounts[account], policy, now)
        if found:
            hits.append(found)
    return tuple(hits)


def _young_hit(account: str, done: list[MonitoredTransaction], policy: Policy,
               now: datetime) -> ScenarioHit | None:
    code, params = "young_account", policy.monitoring.params
    days, age_limit = params["young_account_window_days"], params["young_holder_age"]
    opened = max((t.account_opened_at for t in done if t.account_opened_at), default=None)
    born = max((t.account_holder_birth_year for t in done if t.account_holder_birth_year),
               default=None)
    if opened is not None and opened > now - timedelta(days=days):
        why, start = says("opened on %(day)s", day=local_day(opened, policy)), opened
        period = f"new:{local_day(opened, policy)}"
    elif born is not None and local_day(now, policy).year - born < age_limit:
        why, start, period = (says("held by someone under %(age)s", age=age_limit),
                              now - timedelta(days=days), month_label(now, policy))
    else:
        return None
    first_month = [t for t in done if start <= t.occurred_at <= now]
    amount = total(first_month)
    count_limit, amount_limit = (params["young_account_max_transactions"],
                                 params["young_account_max_try"])
    if len(first_month) < count_limit and amount < amount_limit:
        return None
    summary = says("Account %(account)s, %(why)s, has %(count)s transactions for %(amount)s in "
                   "its first %(days)s days (the policy alerts at %(count_limit)s transactions "
                   "or %(amount_limit)s).", account=account, why=why, count=len(first_month),
                   amount=money(amount), days=days, count_limit=count_limit,
                   amount_limit=money(amount_limit))
    return hit(code, severity(policy, code), subject=f"account:{account}", summary=summary,
               period=period, occurred_at=earliest(first_month),
               evidence={"account_ref": account, "reason": why.text(),
                         "transactions": len(first_month),
                         "amount_try": amount, "max_transactions": count_limit,
                         "max_try": amount_limit, "window_days": days})


@scenario("identity_reuse")
def identity_reuse(activity: Activity, policy: Policy,
                   now: datetime) -> tuple[ScenarioHit, ...]:
    """One e-mail or phone (digests) used with >= ``identity_reuse_accounts`` accounts within
    ``identity_reuse_window_days``. ``occurred_at`` is when the last needed account appeared:
    the reuse exists from then on."""
    code, params = "identity_reuse", policy.monitoring.params
    limit, window = params["identity_reuse_accounts"], params["identity_reuse_window_days"]
    recent = [t for rows in recent_days(activity.transactions, now, policy).values()
              for t in rows if t.account_ref and (t.account_email_hash or t.account_phone_hash)]
    if not recent:
        return Insufficient("no transaction of the previous or current local day carries its "
                            "account's e-mail or phone (account_email, account_phone)")
    if activity.identities is None:
        return Insufficient("the accounts behind the e-mails and phones were not loaded")
    hits = []
    for use in sorted(activity.identities, key=lambda u: (u.kind, u.digest)):
        within = sorted((at, a) for a, at in use.accounts if at > now - timedelta(days=window))
        if len(within) < limit:
            continue
        summary = says("One %(kind)s was used with %(count)s payment accounts within %(days)s "
                       "days (the policy alerts at %(limit)s).", kind=use.kind,
                       count=len(within), days=window, limit=limit)
        hits.append(hit(code, severity(policy, code), subject=f"{use.kind}:{use.digest[:16]}",
                        summary=summary, period=f"accounts-{len(within)}",
                        occurred_at=within[limit - 1][0],
                        evidence={"kind": use.kind, "digest": use.digest[:16],
                                  "accounts": [a for _, a in within][:50],
                                  "threshold": limit, "window_days": window}))
    return tuple(hits)


@scenario("risky_country")
def risky_country(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Transactions from an IP country (sent by the caller) or with a phone of a country on the
    FATF black or grey list or the policy's ``risky_countries``; one hit per local day."""
    code = "risky_country"
    risky = set(policy.fatf.black) | set(policy.fatf.grey) | set(
        policy.monitoring.param("risky_countries"))
    days = recent_days(activity.transactions, now, policy)
    if not any(t.ip_country or t.phone_country for rows in days.values() for t in rows):
        return Insufficient("no transaction of the previous or current local day carries an "
                            "IP country (ip_country) or a phone (account_phone)")
    hits = []
    for day, rows in sorted(days.items()):
        flagged = [(t, sorted({c for c in (t.ip_country, t.phone_country) if c in risky}))
                   for t in rows]
        flagged = [(t, c) for t, c in flagged if c]
        if not flagged:
            continue
        countries = sorted({c for _, cs in flagged for c in cs})
        summary = says("%(count)s transaction(s) on %(day)s came from or with a phone of a "
                       "high-risk country (%(countries)s).", count=len(flagged), day=day,
                       countries=", ".join(countries))
        hits.append(hit(code, severity(policy, code, "high"), subject="merchant",
                        summary=summary, period=str(day),
                        occurred_at=earliest(t for t, _ in flagged),
                        evidence={"day": day, "countries": countries, "count": len(flagged),
                                  "transactions": [
                                      {"transaction_id": t.transaction_id, "countries": c,
                                       "ip_country": t.ip_country,
                                       "phone_country": t.phone_country}
                                      for t, c in flagged[:50]]}))
    return tuple(hits)


@scenario("cash_sector_personal")
def cash_sector_personal(activity: Activity, policy: Policy,
                         now: datetime) -> tuple[ScenarioHit, ...]:
    """At a merchant of a cash-intensive MCC, one personal account in >=
    ``cash_personal_min_transactions`` transactions on >= ``cash_personal_min_days`` local
    days of the trailing ``cash_personal_window_days``."""
    code, params = "cash_sector_personal", policy.monitoring.params
    if not activity.mcc:
        return Insufficient("the merchant has no sector (MCC)")
    if activity.mcc not in params["cash_intensive_mccs"]:
        return ()
    window = params["cash_personal_window_days"]
    rows = [t for t in trailing(activity.transactions, now, window)
            if t.type in COUNTED and t.account_type]
    if not rows:
        return Insufficient(f"no transaction of the last {window} days says whether its account "
                            f"is personal or business (account_type)")
    hits = []
    for account, done in sorted(_by_account(t for t in rows
                                            if t.account_type == "personal").items()):
        active = sorted({local_day(t.occurred_at, policy) for t in done})
        if (len(done) < params["cash_personal_min_transactions"]
                or len(active) < params["cash_personal_min_days"]):
            continue
        summary = says("Personal account %(account)s was used %(count)s times on %(days)s days "
                       "at a merchant of cash-intensive sector %(mcc)s.", account=account,
                       count=len(done), days=len(active), mcc=activity.mcc)
        hits.append(hit(code, severity(policy, code), subject=f"account:{account}",
                        summary=summary, period=month_label(now, policy),
                        occurred_at=earliest(done),
                        evidence={"account_ref": account, "mcc": activity.mcc,
                                  "transactions": len(done), "days": len(active),
                                  "amount_try": total(done), "window_days": window,
                                  "min_transactions": params["cash_personal_min_transactions"],
                                  "min_days": params["cash_personal_min_days"]}))
    return tuple(hits)
