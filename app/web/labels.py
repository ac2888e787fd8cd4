"""The words people read for the codes the system stores (issue #11): one lazy-translated label
for every merchant status, tier, check, check status, alert scenario and state, case state and
priority, key state, role, decision and data field, in English and Turkish.

Templates use the ``label`` filter (``{{ m.status|label }}``, ``{{ c.code|label("check") }}``)
and the ``badge`` macro calls it, so no page keeps its own map and no code reaches a reader
untranslated. A code without a label reads as itself with spaces (a new code shows up, it is
not hidden), and the catalogue test makes every label here have its Turkish text.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

MERCHANT_STATUS = {
    "applied": _l("applied"), "in_review": _l("in review"),
    "info_requested": _l("information requested"), "approved": _l("approved"),
    "rejected": _l("rejected"), "suspended": _l("suspended"),
}
TIER = {"low": _l("low"), "medium": _l("medium"), "high": _l("high")}
SEVERITY = {**TIER, "critical": _l("critical")}
PRIORITY = SEVERITY
CHECK_STATUS = {"pass": _l("pass"), "flag": _l("flag"), "fail": _l("fail"),
                "unknown": _l("unknown")}
CHECK = {
    "domain_age": _l("Domain age"), "domain_dns": _l("Domain DNS"),
    "iban_valid": _l("IBAN validity"), "iban_change_frequency": _l("IBAN changes"),
    "shared_ownership": _l("Shared ownership"),
    "price_ticket_mismatch": _l("Price and ticket mismatch"),
    "new_merchant_turnover": _l("New merchant turnover"),
    "sanctions_pep": _l("Sanctions and PEP screening"),
    "high_risk_country": _l("High-risk country"), "disposable_email": _l("Disposable e-mail"),
    "blacklist": _l("Blacklist"),
}
SCENARIO = {
    "account_transfers": _l("Many transfers from one account"),
    "account_counterparties": _l("Many counterparties"),
    "young_account": _l("Young or new account"), "identity_reuse": _l("Reused e-mail or phone"),
    "risky_country": _l("High-risk country"),
    "cash_sector_personal": _l("Cash sector through a personal account"),
    "card_velocity": _l("Same card used repeatedly"), "bot_intervals": _l("Bot-like intervals"),
    "round_amounts": _l("Round amounts"), "turnover_jump": _l("Daily turnover jump"),
    "sector_outlier": _l("Above the sector average"),
    "ip_many_customers": _l("One IP, many customers"),
    "customer_many_ips": _l("One customer, many IPs"),
    "api_ip_many_customers": _l("API: one IP, many customers"),
    "api_customer_many_ips": _l("API: one customer, many IPs"),
    "suspicious_description": _l("Suspicious description"),
    "chargeback_ratio": _l("Chargeback ratio"), "weekend_volume": _l("Weekend volume"),
    "night_turnover": _l("Night turnover"), "blacklist_hit": _l("Blacklist hit"),
}
ALERT_STATUS = {"open": _l("open"), "in_review": _l("in review"), "closed": _l("closed"),
                "escalated": _l("escalated")}
CASE_STATUS = {"open": _l("open"), "investigating": _l("investigating"),
               "waiting_for_information": _l("waiting for information"),
               "closed": _l("closed"), "close_requested": _l("close requested")}
KEY_STATE = {
    "active": _l("active"), "pending_activation": _l("not yet active"),
    "rotating": _l("being replaced"), "frozen": _l("frozen"), "revoked": _l("revoked"),
    "expired": _l("expired"),
}
ENVIRONMENT = {"live": _l("live"), "test": _l("test")}
ROLE = {"analyst": _l("analyst"), "approver": _l("approver"), "admin": _l("admin")}
DECISION = {"approve": _l("approve"), "reject": _l("reject"),
            "request_info": _l("request information"), "suspend": _l("suspend"),
            "approve_with_limits": _l("approve with limits"),
            "manual_review": _l("manual review")}
DECISION_STATUS = {"final": _l("final"), "pending_second": _l("waiting for a second approver"),
                   "superseded": _l("superseded")}
DISPOSITION = {"true_positive": _l("true positive"), "false_positive": _l("false positive"),
               "duplicate": _l("duplicate"), "not_suspicious": _l("not suspicious")}
OWNER_ROLE = {"owner": _l("owner"), "director": _l("director"),
              "ubo": _l("ultimate beneficial owner")}
FIELD = {
    "legal_name": _l("legal name"), "trade_name": _l("trade name"), "country": _l("country"),
    "tax_id": _l("tax identity number"), "website": _l("website"), "email": _l("e-mail"),
    "phone": _l("phone"), "iban": _l("IBAN"), "owners": _l("owners"), "sector": _l("sector"),
    "name": _l("name"), "ip_whitelist": _l("allowed IP addresses"),
    "back_urls": _l("back URLs"), "status": _l("state"), "limits": _l("limits"),
    "expires_at": _l("expiry"), "activates_at": _l("start"), "capital": _l("capital"),
    "expected_monthly_turnover": _l("expected monthly turnover"),
    "declared_prices": _l("declared prices"), "registration_number": _l("registration number"),
}

# Audit actions a case timeline shows as sentences (app.staff.casework_page).
AUDIT_ACTION = {
    "alert.opened": _l("Alert opened"), "alert.assigned": _l("Alert assigned"),
    "alert.review_started": _l("Review started"), "alert.closed": _l("Alert closed"),
    "alert.escalated": _l("Alert escalated to approvers"),
    "case.opened": _l("Case opened"), "case.assigned": _l("Case assigned"),
    "case.updated": _l("Case updated"), "case.note_added": _l("Note added"),
    "case.attachment_added": _l("Attachment added"),
    "case.info_requested": _l("Information requested from the merchant"),
    "case.info_answered": _l("Merchant answered"),
    "case.close_requested": _l("Close requested (four eyes)"),
    "case.closed": _l("Case closed"), "case.str_filed": _l("STR filed"),
    "case.str_exported": _l("STR package exported"),
    # merchant-level events a case's action caused (app.services.cases.caused_events)
    "keys.frozen": _l("Merchant's API keys frozen"),
    "keys.unfrozen": _l("Merchant's API keys unfrozen"),
    "keys.blocked": _l("Merchant's API keys blocked"),
    "keys.caps_changed": _l("Merchant's payment limits changed"),
    "decision.suspend": _l("Merchant suspended"),
}

KINDS: Mapping[str, Mapping[str, LazyString]] = {
    "merchant_status": MERCHANT_STATUS, "tier": TIER, "severity": SEVERITY,
    "check_status": CHECK_STATUS, "check": CHECK, "scenario": SCENARIO,
    "alert_status": ALERT_STATUS, "case_status": CASE_STATUS, "key_state": KEY_STATE,
    "environment": ENVIRONMENT, "role": ROLE, "decision": DECISION,
    "decision_status": DECISION_STATUS, "disposition": DISPOSITION, "owner_role": OWNER_ROLE,
    "field": FIELD, "audit_action": AUDIT_ACTION,
}
# Badges show states of many kinds; a state word means the same in each of them.
STATE_WORDS: dict[str, LazyString] = {
    **CHECK_STATUS, **SEVERITY, **ROLE, **ENVIRONMENT, **KEY_STATE, **DECISION_STATUS,
    **CASE_STATUS, **ALERT_STATUS, **MERCHANT_STATUS, **DISPOSITION,
}


def label(value: str | None, kind: str | None = None) -> str:
    """What a reader sees for the stored code ``value`` of ``kind`` (a key of :data:`KINDS`;
    without one, a state word) in the request's language; ``—`` for nothing."""
    if value is None or value == "":
        return "—"
    table = KINDS[kind] if kind else STATE_WORDS
    text = table.get(str(value))
    return str(text) if text is not None else str(value).replace("_", " ")


def choices(kind: str) -> list[tuple[str, str]]:
    """``(code, label)`` pairs of ``kind`` for a filter's options, in the request's language."""
    return [(code, str(text)) for code, text in KINDS[kind].items()]
