"""Turn page data into what the merchant page shows beyond its rows: the inline SVG charts
and each API key's limits."""

from __future__ import annotations

import datetime as dt

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from app.models import Assessment
from app.staff.merchant_page import MerchantPage
from app.web.charts import Bar, Node, bar_chart, network_chart
from app.web.key_limits import ShownLimits, shown_limits

BAD_STATUSES = {"rejected", "suspended"}


def check_bars(assessment: Assessment | None) -> Markup | None:
    """The score breakdown: one bar per check, its length the points it scored."""
    if assessment is None:
        return None
    bars = [Bar(c["code"], float(c.get("points") or 0), c.get("status", "unknown"),
                c.get("status", "")) for c in assessment.checks]
    bars.sort(key=lambda b: (-b.value, b.label))
    return bar_chart(bars, title=_("Score breakdown by check (points)"),
                     maximum=max([b.value for b in bars] + [1.0]))


def network(page: MerchantPage) -> Markup | None:
    """The merchant and the merchants it shares an owner, IBAN or contact with."""
    linked = getattr(page.links, "linked", ()) or ()
    if not linked:
        return None
    center = Node(page.merchant.id, page.merchant.legal_name, "self")
    links = [(Node(m.merchant_id, m.name, "bad" if m.status in BAD_STATUSES else "",
                   url_for("staff.merchant", merchant_id=m.merchant_id)),
              [share_label(s) for s in m.shares]) for m in linked[:16]]
    return network_chart(center, links, title=_("Merchants linked to %(n)s",
                                                n=page.merchant.legal_name))


def share_label(share: str) -> str:
    """What two linked merchants share, in the reader's language."""
    labels = {"owner": _("owner"), "iban": _("IBAN"), "email": _("e-mail"), "phone": _("phone"),
              "domain": _("domain"), "signup_ip": _("sign-up IP"), "website": _("website")}
    return labels.get(share, share)


def key_limits(page: MerchantPage, now: dt.datetime) -> dict[str, ShownLimits]:
    """Each key's limits in force and its waiting increase, by key id (R-E5); read from the
    key rows already loaded, so no query."""
    return {key.id: shown_limits(key, now) for key in page.keys}
