"""API anomalies on transactions (R-B6, R-C10): one IP serving many customer accounts in a day,
and one customer account reached from many IPs in a day (local days, previous and current)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from checks.monitoring.model import Activity, Insufficient, ScenarioHit, hit
from checks.monitoring.registry import scenario
from checks.monitoring.windows import recent_days, severity
from checks.policy import Policy
from checks.wording import says


def _fan_out(activity: Activity, policy: Policy, now: datetime, key: str,
             value: str) -> list[tuple[object, str, list[str], datetime]] | Insufficient:
    """(day, key value, sorted distinct values, first time) for every key value of every recent
    day; insufficient when no recent transaction carries both fields."""
    out = []
    for day, rows in sorted(recent_days(activity.transactions, now, policy).items()):
        seen: dict[str, set[str]] = defaultdict(set)
        first: dict[str, datetime] = {}
        for t in rows:
            k, v = getattr(t, key), getattr(t, value)
            if k and v:
                seen[k].add(v)
                first.setdefault(k, t.occurred_at)
        out.extend((day, k, sorted(vs), first[k]) for k, vs in sorted(seen.items()))
    if not out:
        return Insufficient(f"no transaction of the previous or current local day carries both "
                            f"{key} and {value}")
    return out


@scenario("ip_many_customers")
def ip_many_customers(activity: Activity, policy: Policy,
                      now: datetime) -> tuple[ScenarioHit, ...]:
    """One client IP on >= ``customer_refs_per_ip_per_day`` distinct customer accounts a day."""
    code, limit = "ip_many_customers", policy.monitoring.customer_refs_per_ip_per_day
    fan = _fan_out(activity, policy, now, "client_ip", "customer_ref")
    if isinstance(fan, Insufficient):
        return fan
    hits = []
    for day, ip, customers, first in fan:
        if len(customers) >= limit:
            summary = says("IP %(ip)s made transactions for %(count)s different customer "
                           "accounts on %(day)s (the policy alerts at %(limit)s).", ip=ip,
                           count=len(customers), day=day, limit=limit)
            hits.append(hit(code, severity(policy, code, "high"), subject=f"ip:{ip}",
                            summary=summary, period=str(day),
                            evidence={"day": day, "client_ip": ip, "customer_refs": customers,
                                      "threshold": limit}, occurred_at=first))
    return tuple(hits)


@scenario("customer_many_ips")
def customer_many_ips(activity: Activity, policy: Policy,
                      now: datetime) -> tuple[ScenarioHit, ...]:
    """One customer account from >= ``ips_per_customer_ref_per_day`` distinct IPs a day."""
    code, limit = "customer_many_ips", policy.monitoring.ips_per_customer_ref_per_day
    fan = _fan_out(activity, policy, now, "customer_ref", "client_ip")
    if isinstance(fan, Insufficient):
        return fan
    hits = []
    for day, customer, ips, first in fan:
        if len(ips) >= limit:
            summary = says("Customer account %(customer)s transacted from %(count)s different "
                           "IP addresses on %(day)s (the policy alerts at %(limit)s).",
                           customer=customer, count=len(ips), day=day, limit=limit)
            hits.append(hit(code, severity(policy, code), subject=f"customer:{customer}",
                            summary=summary, period=str(day),
                            evidence={"day": day, "customer_ref": customer, "client_ips": ips,
                                      "threshold": limit}, occurred_at=first))
    return tuple(hits)
