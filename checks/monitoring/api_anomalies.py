"""API anomalies on transactions (R-B6, R-C10): one IP serving many customer accounts in a day,
and one customer account reached from many IPs in a day (local days, previous and current)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from checks.monitoring.model import Activity, ScenarioHit, hit
from checks.monitoring.registry import scenario
from checks.monitoring.windows import recent_days, severity
from checks.policy import Policy


def _fan_out(activity: Activity, policy: Policy, now: datetime, key: str,
             value: str) -> list[tuple[object, str, list[str]]]:
    """(day, key value, sorted distinct values) for every key value of every recent day."""
    out = []
    for day, rows in sorted(recent_days(activity.transactions, now, policy).items()):
        seen: dict[str, set[str]] = defaultdict(set)
        for t in rows:
            k, v = getattr(t, key), getattr(t, value)
            if k and v:
                seen[k].add(v)
        out.extend((day, k, sorted(vs)) for k, vs in sorted(seen.items()))
    return out


@scenario("ip_many_customers")
def ip_many_customers(activity: Activity, policy: Policy,
                      now: datetime) -> tuple[ScenarioHit, ...]:
    """One client IP on >= ``customer_refs_per_ip_per_day`` distinct customer accounts a day."""
    code, limit = "ip_many_customers", policy.monitoring.customer_refs_per_ip_per_day
    hits = []
    for day, ip, customers in _fan_out(activity, policy, now, "client_ip", "customer_ref"):
        if len(customers) >= limit:
            summary = (f"IP {ip} made transactions for {len(customers)} different customer "
                       f"accounts on {day} (the policy alerts at {limit}).")
            hits.append(hit(code, severity(policy, code, "high"), subject=f"ip:{ip}",
                            summary=summary, period=str(day),
                            evidence={"day": day, "client_ip": ip, "customer_refs": customers,
                                      "threshold": limit}))
    return tuple(hits)


@scenario("customer_many_ips")
def customer_many_ips(activity: Activity, policy: Policy,
                      now: datetime) -> tuple[ScenarioHit, ...]:
    """One customer account from >= ``ips_per_customer_ref_per_day`` distinct IPs a day."""
    code, limit = "customer_many_ips", policy.monitoring.ips_per_customer_ref_per_day
    hits = []
    for day, customer, ips in _fan_out(activity, policy, now, "customer_ref", "client_ip"):
        if len(ips) >= limit:
            summary = (f"Customer account {customer} transacted from {len(ips)} different IP "
                       f"addresses on {day} (the policy alerts at {limit}).")
            hits.append(hit(code, severity(policy, code), subject=f"customer:{customer}",
                            summary=summary, period=str(day),
                            evidence={"day": day, "customer_ref": customer, "client_ips": ips,
                                      "threshold": limit}))
    return tuple(hits)
