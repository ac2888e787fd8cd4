"""Merchant notifications as sentences (R-E4, R-E5, R-E7, issue #11): the subject and lines of a
notice are written from its event and structured payload, in the reader's language, with local
times and amounts from the locale's formatters. The e-mail body is written by the same code
when the notice is queued, and the portal writes it again in the language of whoever reads it,
so no notice shows Python values (``None``, ``{…}``, ``False → True``) or raw timestamps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from app.db import as_utc
from app.web.filters import day, money, when
from app.web.labels import label

Payload = dict[str, Any]


@dataclass(frozen=True)
class Notice:
    """What a merchant reads: one subject line and the body's sentences."""

    subject: str
    lines: tuple[str, ...]

    @property
    def body(self) -> str:
        """The plain-text body of the e-mail."""
        return "\n\n".join(self.lines)


WRITERS: dict[str, Callable[[Payload, dt.datetime], Notice]] = {}


def writes(*events: str) -> Callable:
    """Register the writer of ``events``; a second writer of an event is refused."""
    def register(function: Callable[[Payload, dt.datetime], Notice]) -> Callable:
        for event in events:
            if event in WRITERS:
                raise ValueError(f"a writer of {event} is already registered")
            WRITERS[event] = function
        return function
    return register


def write_notice(event: str, payload: Payload, at: dt.datetime) -> Notice:
    """The notice of ``event`` queued at ``at`` with ``payload``, in the current language.
    ``merchant.<status>`` events share one writer."""
    writer = WRITERS.get(event) or (WRITERS["merchant.status"]
                                    if event.startswith("merchant.") else None)
    if writer is None:
        raise KeyError(f"no notice writer for {event}")
    return writer(payload or {}, at)


def shown(note: Any) -> Notice:
    """A stored notification as its reader sees it: written again from its event and payload
    in the reader's language; a row whose payload predates its writer shows what was sent."""
    from app.services.sealed_notices import own_payload
    try:  # the merchant's own notice: its sealed values opened for it (R-D7, not audited)
        return write_notice(note.event, own_payload(note), note.created_at)
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return Notice(note.subject, tuple(note.body.split("\n\n")))


def _instant(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return as_utc(parsed)


def _items(values: Any) -> str:
    if not values:
        return _("none")
    return ", ".join(map(str, values)) if isinstance(values, list | tuple) else str(values)


def _amount(value: Any, currency: str | None) -> str:
    if value is None or value == "":
        return _("no limit")
    try:
        return money(Decimal(str(value)), currency)
    except InvalidOperation:
        return str(value)


LIMIT_NAMES = (("per_transaction", "max_amount_per_tx"), ("daily", "daily_amount"),
               ("monthly", "monthly_amount"))


def _limit_words() -> dict[str, str]:
    return {"per_transaction": _("per transaction"), "daily": _("per day"),
            "monthly": _("per month")}


def _limits(limits: Payload | None) -> str:
    """``per transaction 1,000.00 TRY, per day no limit`` from a limits snapshot."""
    limits = limits or {}
    currency, words = limits.get("currency"), _limit_words()
    parts = [f"{words[name]} {_amount(limits.get(name, limits.get(alias)), currency)}"
             for name, alias in LIMIT_NAMES if name in limits or alias in limits]
    return ", ".join(parts) or _("no limits of its own")


def _not_you() -> str:
    return _("If you did not ask for this, freeze your keys at once in the portal and contact us.")


def _key_name(after: Payload, before: Payload) -> str:
    return str(after.get("prefix") or before.get("prefix") or "")


@writes("key.created")
def _key_created(payload: Payload, at: dt.datetime) -> Notice:
    after = payload.get("after") or {}
    starts = _instant(after.get("activates_at"))
    env = label(after.get("environment"), "environment")
    lines = []
    if starts and starts > at:
        lines.append(_("The key does not work yet: it starts working at %(t)s.", t=when(starts)))
    else:
        lines.append(_("The key works from %(t)s.", t=when(starts or at)))
    lines.append(_("Allowed IP addresses: %(ips)s.", ips=_items(after.get("ip_whitelist"))))
    lines.append(_("Back URLs: %(urls)s.", urls=_items(after.get("back_urls"))))
    if after.get("wide_ranges_pending"):
        lines.append(_("These ranges work only after our approval: %(r)s.",
                       r=_items(after["wide_ranges_pending"])))
    lines.append(_("If you did not create this key, revoke it in the portal at once and "
                   "contact us."))
    return Notice(_("New %(env)s API key %(p)s", env=env, p=after.get("prefix", "")),
                  tuple(lines))


@writes("key.rotated")
def _key_rotated(payload: Payload, at: dt.datetime) -> Notice:
    after = payload.get("after") or {}
    until = _instant(after.get("grace_until"))
    lines = [_("Its old token keeps working until %(t)s; use the new token before then.",
               t=when(until or at)), _not_you()]
    return Notice(_("API key %(p)s replaced by a new one", p=after.get("prefix", "")),
                  tuple(lines))


@writes("key.revoked")
def _key_revoked(payload: Payload, at: dt.datetime) -> Notice:
    after = payload.get("after") or {}
    lines = [_("It stopped working at %(t)s and will never work again.", t=when(at)),
             _("If you did not revoke it, contact us at once.")]
    return Notice(_("API key %(p)s revoked", p=after.get("prefix", "")), tuple(lines))


@writes("keys.frozen")
def _keys_frozen(payload: Payload, at: dt.datetime) -> Notice:
    since = _instant((payload.get("after") or {}).get("frozen_at")) or at
    lines = [_("Since %(t)s every API call with your keys is refused. You can unfreeze them "
               "in the portal.", t=when(since)),
             _("If you did not freeze them, contact us at once.")]
    return Notice(_("All your API keys were frozen"), tuple(lines))


@writes("keys.unfrozen")
def _keys_unfrozen(payload: Payload, at: dt.datetime) -> Notice:
    lines = [_("Your keys work again since %(t)s; revoked and expired keys stay off.",
               t=when(at)),
             _("If you did not unfreeze them, freeze them again at once and contact us.")]
    return Notice(_("Your API keys were unfrozen"), tuple(lines))


def _key_value(name: str, value: Any) -> str:
    if name == "limits":
        return _limits(value)
    if name == "limit_increase":
        if not value:
            return _("none")
        starts = _instant(value.get("effective_at"))
        return _("%(limits)s from %(t)s", limits=_limits(value.get("limits")),
                 t=when(starts) if starts else "—")
    if name in ("activates_at", "expires_at", "grace_until"):
        instant = _instant(value)
        return when(instant) if instant else _("none")
    if name == "status":
        return label(value, "key_state")
    if name == "wide_ranges_approved_by":
        return _("approved") if value else _("waiting for approval")
    return _items(value)


KEY_FIELDS = ("name", "ip_whitelist", "back_urls", "limits", "limit_increase",
              "wide_ranges_approved_by", "expires_at", "status")


def _key_field(name: str) -> str:
    if name == "limit_increase":
        return _("requested limit increase")
    if name == "wide_ranges_approved_by":
        return _("wide IP ranges")
    return label(name, "field")


@writes("key.updated", "key.wide_ranges_approved")
def _key_updated(payload: Payload, at: dt.datetime) -> Notice:
    before, after = payload.get("before") or {}, payload.get("after") or {}
    lines = [_("%(field)s: %(old)s → %(new)s", field=_key_field(name),
               old=_key_value(name, before.get(name)), new=_key_value(name, after.get(name)))
             for name in KEY_FIELDS if before.get(name) != after.get(name)]
    increase = after.get("limit_increase")
    if increase and increase != before.get("limit_increase"):
        starts = _instant(increase.get("effective_at"))
        lines.append(_("The higher limits take effect at %(t)s; until then the current limits "
                       "apply.", t=when(starts) if starts else "—"))
    lines.append(_not_you())
    name = _key_name(after, before)
    if "ranges" in after:
        subject = _("Wide IP ranges of API key %(p)s approved", p=name)
    elif increase and increase != before.get("limit_increase"):
        subject = _("API key %(p)s: limit increase requested", p=name)
    else:
        subject = _("API key %(p)s: restrictions changed", p=name)
    return Notice(subject, tuple(lines))


@writes("keys.blocked", "keys.unblocked")
def _keys_blocked(payload: Payload, at: dt.datetime) -> Notice:
    after = payload.get("after") or {}
    if "tier" in after:
        return Notice(_("Your API keys are blocked"), (
            _("A re-assessment placed you in the high risk tier; your keys work again after a "
              "new approval."),))
    status = after.get("status")
    if status == "approved":
        return Notice(_("Your API keys work again"),
                      (_("Your merchant account was approved; your keys work again."),))
    return Notice(_("Your API keys are blocked"), (
        _("Your merchant account is now %(s)s, so every API call with your keys is refused.",
          s=label(status, "merchant_status")),))


@writes("keys.caps_changed")
def _caps_changed(payload: Payload, at: dt.datetime) -> Notice:
    before, after = payload.get("before") or {}, payload.get("after") or {}
    titles = {"per_transaction": _("Per transaction"), "daily": _("Per day"),
              "monthly": _("Per month")}
    raised, lines = False, []
    for name, _alias in LIMIT_NAMES:
        old, new = before.get(name), after.get(name)
        if old == new and before.get("currency") == after.get("currency"):
            continue
        raised = raised or (old is not None and (new is None or Decimal(new) > Decimal(old)))
        lines.append(_("%(field)s: %(old)s → %(new)s", field=titles[name],
                       old=_amount(old, before.get("currency")),
                       new=_amount(new, after.get("currency"))))
    lines.append(_("Payments through all your live keys count together against these limits."))
    subject = (_("Your payment limits were raised") if raised
               else _("Your payment limits changed"))
    return Notice(subject, tuple(lines))


def _status_sentence(status: str) -> str:
    return {
        "approved": _("Your application was approved. You can now create API keys in the "
                      "portal."),
        "info_requested": _("We need more information about your application."),
        "rejected": _("Your application was not approved."),
        "suspended": _("Your merchant account was suspended; your API keys no longer work."),
    }.get(status, _("Your application is now %(s)s.", s=label(status, "merchant_status")))


@writes("merchant.status")
def _merchant_status(payload: Payload, at: dt.datetime) -> Notice:
    new = payload.get("new_status") or ""
    lines = [_status_sentence(new)]
    if payload.get("reason"):
        lines.append(_("Reason: %(r)s", r=payload["reason"]))
    return Notice(_("Application status: %(s)s", s=label(new, "merchant_status")), tuple(lines))


@writes("merchant.changed")
def _merchant_changed(payload: Payload, at: dt.datetime) -> Notice:
    lines = [_("The following data of your merchant account changed:")]
    lines += [_("%(field)s: %(old)s → %(new)s", field=label(c.get("field"), "field"),
                old=c.get("old") or _("none"), new=c.get("new") or _("none"))
              for c in payload.get("changes") or []]
    if payload.get("reason"):
        lines.append(_("Reason: %(r)s", r=payload["reason"]))
    lines.append(_("If you did not ask for this change, contact us at once."))
    return Notice(_("Your merchant data was changed"), tuple(lines))


@writes("case.info_requested")
def _info_requested(payload: Payload, at: dt.datetime) -> Notice:
    due = _instant(payload.get("due_at"))
    lines = [payload["question"]] if payload.get("question") else []
    lines.append(_("Please answer in the portal by %(d)s.",
                   d=day(due)))
    return Notice(_("We need information from you"), tuple(lines))
