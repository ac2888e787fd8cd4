"""The verification decision: order of checks, time boundaries, limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from api_keys.limits import Charge, Limits, MerchantCaps, period_key
from api_keys.results import Failure
from api_keys.verification import (
    MAX_GRACE_SECONDS,
    REASONS,
    Decision,
    VerificationRequest,
    activation_time,
    rotation_grace_until,
    verify,
)

SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)


def request_for(token: str, **overrides) -> VerificationRequest:
    fields = {
        "token": token,
        "client_ip": "8.8.8.8",
        "site": "https://shop.com/checkout",
        "operation": "sale",
        "amount": Decimal("100.00"),
        "currency": "TRY",
    }
    fields.update(overrides)
    return VerificationRequest(**fields)


def test_limit_refusals_say_which_limit(make_key, now, peppers):
    token, record = make_key()
    over = decide(token, record, now, peppers, request={"amount": Decimal("1000.01")})
    assert over.limit == "key per-transaction limit 1000 TRY"
    assert not over.charges
    wrong = decide(token, record, now, peppers, request={"operation": "payout"})
    assert wrong.limit == "operation payout is not allowed for this key"


CAPS = MerchantCaps("TRY", per_transaction=Decimal("50000"), daily=Decimal("250000"),
                    monthly=Decimal("1000000"), source="tier:low")
RATES = {"TRY": Decimal("1"), "EUR": Decimal("48.50")}


@pytest.mark.parametrize(("amount", "currency", "reason"), [
    (Decimal("49999.99"), "TRY", "ok"),
    (Decimal("50000.00"), "TRY", "ok"),  # the cap itself is allowed
    (Decimal("50000.01"), "TRY", "limit_exceeded"),
    (Decimal("1030.92"), "EUR", "ok"),  # 49,999.62 TRY at 48.50
    (Decimal("1030.93"), "EUR", "limit_exceeded"),  # 50,000.11 TRY
    (Decimal("10"), "ZWL", "limit_exceeded"),  # no rate: cannot be judged
])
def test_merchant_cap_per_transaction_just_under_at_and_over(make_key, now, peppers, amount,
                                                             currency, reason):
    token, record = make_key(limits=Limits(), caps=CAPS)
    decision = decide(token, record, now, peppers, rates=RATES,
                      request={"amount": amount, "currency": currency})
    assert decision.reason == reason
    if reason == "ok":
        base = (amount * RATES[currency]).quantize(Decimal("0.0001"))
        assert decision.charges == (
            Charge("merchant:m-1", "day", "TRY", base, Decimal("250000"),
                   period_key("day", now)),
            Charge("merchant:m-1", "month", "TRY", base, Decimal("1000000"),
                   period_key("month", now)))
    else:
        assert "merchant per-transaction limit 50000 TRY (tier:low)" == decision.limit or \
            "no exchange rate for ZWL" in decision.limit


def test_key_limits_and_merchant_caps_both_apply(make_key, now, peppers):
    token, record = make_key(caps=CAPS)  # key: 1000 TRY per transaction, 5000 a day
    decision = decide(token, record, now, peppers, rates=RATES,
                      request={"amount": Decimal("900")})
    assert decision.allowed
    assert [c.subject.split(":")[0] + "/" + c.period for c in decision.charges] == [
        "key/day", "merchant/day", "merchant/month"]


def test_a_non_monetary_request_is_not_charged(make_key, now, peppers):
    token, record = make_key(limits=Limits(), caps=CAPS)
    decision = decide(token, record, now, peppers, rates=RATES,
                      request={"amount": None, "currency": None})
    assert decision.allowed and decision.charges == ()


@pytest.mark.parametrize(("spent", "fits"), [
    (Decimal("249999.99"), False), (Decimal("249900.00"), True), (Decimal("249900.01"), False)])
def test_a_charge_fits_up_to_its_limit_exactly(spent, fits):
    charge = Charge("merchant:m-1", "day", "TRY", Decimal("100.00"), Decimal("250000"))
    assert charge.fits(spent) is fits


def test_period_keys_are_utc_days_and_months():
    from datetime import timedelta, timezone
    istanbul = timezone(timedelta(hours=3))
    at = datetime(2026, 12, 1, 1, 30, tzinfo=istanbul)  # 30 November, 22:30 UTC
    assert (period_key("day", at), period_key("month", at)) == ("2026-11-30", "2026-11")
    with pytest.raises(ValueError):
        period_key("week", at)


def decide(token, record, now, peppers, *, accept_test_keys=True, **kwargs) -> Decision:
    return verify(request_for(token, **kwargs.pop("request", {})), record, now, peppers,
                  accept_test_keys=accept_test_keys, **kwargs)  # fmt: skip


def test_valid_request_is_allowed_and_names_the_key(make_key, now, peppers):
    token, record = make_key()
    decision = decide(token, record, now, peppers)
    assert (decision.allowed, decision.reason, decision.key_id, decision.merchant_id) == (
        True, "ok", record.key_id, "m-1")
    # The key's daily limit is a running total: checked and added when the event is stored.
    assert decision.charges == (Charge(f"key:{record.key_id}", "day", "TRY", Decimal("100.00"),
                                       Decimal("5000.00"), period_key("day", now)),)
    assert decision


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), "checksum"),
        (lambda token: token[:-1], "length"),
        (lambda token: "\u043a" + token[1:], "non_ascii"),
        (lambda token: token.upper(), "any"),
        (lambda token: "x" * 10_240, "length"),
        (lambda token: "", "length"),
    ],
)
def test_malformed_token_is_invalid_before_any_lookup(make_key, now, peppers, mangle, reason):
    token, record = make_key()
    decision = decide(mangle(token), record, now, peppers)
    assert decision == Decision(False, "invalid_token")


def test_unknown_key_and_wrong_secret_are_invalid_token(make_key, now, peppers):
    token, record = make_key()
    other_token, other_record = make_key()
    assert decide(token, None, now, peppers) == Decision(False, "invalid_token")
    # a record for another key id, and a right key id with the wrong hash
    assert not decide(token, other_record, now, peppers)
    wrong_hash = replace(record, token_hash=other_record.token_hash)
    assert decide(token, wrong_hash, now, peppers).reason == "invalid_token"
    assert decide(token, replace(record, pepper_version=1), now, peppers).reason == "invalid_token"


@pytest.mark.parametrize(
    ("environment", "accept_test", "accept_live", "reason"),
    [
        ("test", False, True, "invalid_token"),  # test key where only live keys are accepted
        ("live", True, False, "invalid_token"),  # the reverse: a sandbox deployment
        ("test", True, False, "ok"),
        ("live", False, True, "ok"),
        ("test", True, True, "ok"),
    ],
)
def test_environment_acceptance(
    make_key, now, peppers, environment, accept_test, accept_live, reason
):
    token, record = make_key(environment)
    decision = verify(
        request_for(token), record, now, peppers, accept_test_keys=accept_test,
        accept_live_keys=accept_live,
    )  # fmt: skip
    assert decision.reason == reason


def test_record_of_the_other_environment_is_invalid_token(make_key, now, peppers):
    token, record = make_key("live")
    assert (
        decide(token, replace(record, environment="test"), now, peppers).reason == "invalid_token"
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"status": "revoked"}, "key_revoked"),
        ({"status": "revoked", "frozen": True}, "key_revoked"),  # revoked wins over frozen
        ({"status": "revoked", "merchant_active": False}, "key_revoked"),
        ({"revoked_at": datetime(2026, 3, 2, 11, tzinfo=UTC)}, "key_revoked"),
        ({"revoked_at": datetime(2026, 3, 2, 12, tzinfo=UTC)}, "key_revoked"),
        ({"revoked_at": datetime(2026, 3, 2, 13, tzinfo=UTC)}, "ok"),  # scheduled, not yet
        ({"expires_at": datetime(2026, 3, 2, 12, tzinfo=UTC), "frozen": True}, "key_expired"),
        ({"frozen": True}, "key_frozen"),
        ({"frozen": True, "merchant_active": False}, "key_frozen"),
        ({"merchant_active": False}, "merchant_not_active"),
        (
            {"merchant_active": False, "activates_at": datetime(2026, 3, 3, tzinfo=UTC)},
            "merchant_not_active",
        ),  # fmt: skip
        ({"activates_at": datetime(2026, 3, 3, tzinfo=UTC)}, "key_not_yet_active"),
    ],
)
def test_key_state_reasons_and_their_precedence(make_key, now, peppers, overrides, reason):
    token, record = make_key(**overrides)
    assert decide(token, record, now, peppers).reason == reason


NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "offset", "reason"),
    [
        ("activates_at", SECOND, "key_not_yet_active"),  # activates one second from now
        ("activates_at", MICRO, "key_not_yet_active"),
        ("activates_at", timedelta(0), "ok"),  # at the activation instant
        ("activates_at", -SECOND, "ok"),
        ("expires_at", SECOND, "ok"),
        ("expires_at", MICRO, "ok"),
        ("expires_at", timedelta(0), "key_expired"),  # expiry is exclusive
        ("expires_at", -SECOND, "key_expired"),
        ("grace_until", SECOND, "ok"),  # rotated: old token inside its grace
        ("grace_until", timedelta(0), "key_expired"),
        ("grace_until", -SECOND, "key_expired"),  # one second after the grace ended
    ],
)
def test_time_window_boundaries(make_key, peppers, field, offset, reason):
    token, record = make_key(**{field: NOW + offset})
    assert decide(token, record, NOW, peppers).reason == reason


def test_rotated_old_token_works_through_grace_and_is_expired_one_second_after(make_key, peppers):
    rotated_at = NOW
    grace_end = rotation_grace_until(rotated_at, 3600)
    token, record = make_key(grace_until=grace_end)
    assert decide(token, record, grace_end - SECOND, peppers).reason == "ok"
    assert decide(token, record, grace_end + SECOND, peppers).reason == "key_expired"


@pytest.mark.parametrize(
    ("client_ip", "reason"),
    [
        ("8.8.8.0", "ok"),
        ("8.8.8.255", "ok"),
        ("::ffff:8.8.8.8", "ok"),
        ("8.8.9.0", "ip_not_allowed"),
        ("8.8.7.255", "ip_not_allowed"),
        (None, "ip_not_allowed"),
        (Failure("garbage_forwarded_for"), "ip_not_allowed"),
        ("garbage", "ip_not_allowed"),
    ],
)
def test_client_ip_must_be_whitelisted(make_key, now, peppers, client_ip, reason):
    token, record = make_key()
    decision = decide(token, record, now, peppers, request={"client_ip": client_ip})
    assert decision.reason == reason


@pytest.mark.parametrize(
    ("site", "reason"),
    [
        ("https://shop.com", "ok"),
        ("https://pay.shop.com/x", "ok"),
        ("https://evilshop.com", "back_url_mismatch"),
        ("https://shop.com.evil.com", "back_url_mismatch"),
        ("https://shop.com@evil.com", "back_url_mismatch"),
        ("javascript:alert(1)", "back_url_mismatch"),
        ("https://sh\u043ep.com", "back_url_mismatch"),
        (None, "back_url_mismatch"),
        (Failure("null_origin"), "back_url_mismatch"),
    ],
)
def test_request_site_must_match_a_back_url(make_key, now, peppers, site, reason):
    token, record = make_key()
    assert decide(token, record, now, peppers, request={"site": site}).reason == reason


def test_ip_is_checked_before_back_url(make_key, now, peppers):
    token, record = make_key()
    request = {"client_ip": "1.1.1.1", "site": "https://evil.com"}
    assert decide(token, record, now, peppers, request=request).reason == "ip_not_allowed"


def test_empty_whitelist_and_no_back_urls_deny(make_key, now, peppers):
    from api_keys.backurls import SiteSet
    from api_keys.whitelist import NetworkSet

    token, record = make_key(networks=NetworkSet([]))
    assert decide(token, record, now, peppers).reason == "ip_not_allowed"
    token, record = make_key(back_urls=SiteSet([], "live"))
    assert decide(token, record, now, peppers).reason == "back_url_mismatch"


@pytest.mark.parametrize(
    ("request_fields", "daily_spent", "reason"),
    [
        ({"amount": Decimal("999.99")}, Decimal(0), "ok"),  # per-tx limit 1000.00
        ({"amount": Decimal("1000.00")}, Decimal(0), "ok"),
        ({"amount": Decimal("1000.01")}, Decimal(0), "limit_exceeded"),
        ({"amount": Decimal("100.00")}, Decimal("4899.99"), "ok"),  # daily limit 5000.00
        ({"amount": Decimal("100.00")}, Decimal("4900.00"), "ok"),
        ({"amount": Decimal("100.00")}, Decimal("4900.01"), "limit_exceeded"),
        ({"amount": Decimal("0.01")}, Decimal("5000.00"), "limit_exceeded"),  # reached: blocked
        ({"amount": Decimal("0")}, Decimal("5000.00"), "ok"),
        ({"amount": Decimal("-1")}, Decimal(0), "limit_exceeded"),
        ({"amount": Decimal("NaN")}, Decimal(0), "limit_exceeded"),
        ({"amount": Decimal("Infinity")}, Decimal(0), "limit_exceeded"),
        ({"amount": Decimal("100"), "currency": "USD"}, Decimal(0), "limit_exceeded"),
        ({"amount": None, "operation": "refund"}, Decimal(0), "ok"),
        ({"operation": "payout"}, Decimal(0), "limit_exceeded"),
        ({"operation": None}, Decimal(0), "limit_exceeded"),
    ],
)
def test_limits_just_under_at_and_over(make_key, now, peppers, request_fields, daily_spent, reason):
    token, record = make_key()
    decision = decide(token, record, now, peppers, request=request_fields, daily_spent=daily_spent)
    assert decision.reason == reason


def test_key_without_limits_accepts_any_operation_and_amount(make_key, now, peppers):
    from api_keys.verification import Limits

    token, record = make_key(limits=Limits())
    request = {"operation": "anything", "amount": Decimal("1e9"), "currency": "EUR"}
    assert decide(token, record, now, peppers, request=request).allowed


def test_verify_refuses_a_naive_now(make_key, peppers):
    token, record = make_key()
    with pytest.raises(ValueError):
        verify(request_for(token), record, datetime(2026, 3, 2), peppers, accept_test_keys=True)


def test_every_reason_is_in_the_contract(make_key, now, peppers):
    token, record = make_key()
    assert decide(token, record, now, peppers).reason in REASONS
    assert len(REASONS) == 11 and REASONS[-1] == "blacklisted"  # DESIGN.md's list


def test_request_repr_hides_the_token(make_key):
    token, _ = make_key()
    assert token not in repr(request_for(token))


@pytest.mark.parametrize(
    ("grace", "ok"),
    [(0, True), (3600, True), (MAX_GRACE_SECONDS, True), (MAX_GRACE_SECONDS + 1, False),
     (-1, False), (True, False), (1.5, False)],
)  # fmt: skip
def test_rotation_grace_is_capped_at_24_hours(grace, ok):
    if ok:
        assert rotation_grace_until(NOW, grace) == NOW + timedelta(seconds=grace)
    else:
        with pytest.raises(ValueError):
            rotation_grace_until(NOW, grace)


def test_rotation_grace_refuses_naive_now():
    with pytest.raises(ValueError):
        rotation_grace_until(datetime(2026, 3, 2), 60)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [("live", NOW + timedelta(seconds=600)), ("test", NOW)],
)
def test_activation_delay_applies_to_live_keys_only(environment, expected):
    assert activation_time(NOW, environment, 600) == expected


def test_an_already_parsed_token_is_accepted_and_still_hmac_checked(make_key, now, peppers):
    from api_keys.tokens import parse

    token, record = make_key()
    other_token, _ = make_key()
    assert decide(parse(token), record, now, peppers).reason == "ok"
    assert decide(parse(other_token), record, now, peppers).reason == "invalid_token"


def test_charges_are_dated_on_the_policy_calendar(make_key, peppers):
    """21:30 UTC on 31 March is already 1 April in Istanbul (UTC+3): with the policy's
    ``limit_timezone`` the charges count in the new day and month."""
    from zoneinfo import ZoneInfo
    token, record = make_key(limits=Limits(), caps=CAPS)
    late = datetime(2026, 3, 31, 21, 30, tzinfo=UTC)
    utc = decide(token, record, late, peppers, rates=RATES)
    local = decide(token, record, late, peppers, rates=RATES, zone=ZoneInfo("Europe/Istanbul"))
    assert [c.key for c in utc.charges] == ["2026-03-31", "2026-03"]
    assert [c.key for c in local.charges] == ["2026-04-01", "2026-04"]


@pytest.mark.parametrize(("at", "zone", "day", "month"), [
    ("2026-03-31T21:30:00+00:00", "UTC", "2026-04-01T00:00:00+00:00",
     "2026-04-01T00:00:00+00:00"),
    ("2026-03-31T21:30:00+00:00", "Europe/Istanbul", "2026-04-02T00:00:00+03:00",
     "2026-05-01T00:00:00+03:00"),
    ("2026-12-31T23:59:59+00:00", "UTC", "2027-01-01T00:00:00+00:00",
     "2027-01-01T00:00:00+00:00"),
])
def test_next_period_start_is_local_midnight(at, zone, day, month):
    from zoneinfo import ZoneInfo

    from api_keys.limits import next_period_start
    when, tz = datetime.fromisoformat(at), ZoneInfo(zone)
    assert next_period_start("day", when, tz).isoformat() == day
    assert next_period_start("month", when, tz).isoformat() == month


def test_conversion_goes_through_the_base_currency():
    from api_keys.limits import convert
    rates = {"TRY": Decimal("1"), "EUR": Decimal("48.50"), "USD": Decimal("42.00")}
    assert convert(Decimal("100"), "EUR", "TRY", rates) == Decimal("4850.0000")
    assert convert(Decimal("100"), "EUR", "USD", rates) == Decimal("115.4762")
    assert convert(Decimal("100"), "try", "TRY", rates) == Decimal("100")
    assert convert(Decimal("100"), "ZWL", "TRY", rates) is None
    assert convert(Decimal("100"), "TRY", "ZWL", rates) is None
