"""What a verification reads from its request, shared by the data plane and the control plane's
views (``app.api.verify``, which answer the requests the data plane hands over): the body of
``POST /api/v1/verify`` and the headers of the gateway check, as a :class:`VerificationInput`.
No Flask here: a request is its body (:class:`VerifyIn`), or its headers (a ``name -> value``
lookup) and its peer address.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, StringConstraints, field_validator

from api_keys.backurls import site_from_headers
from api_keys.cards import InvalidCardNumber, protect_pan
from api_keys.client_ip import resolve_client_ip
from api_keys.results import Failure
from api_keys.whitelist import NetworkSet, parse_ip
from app.api.schemas import Amount
from app.security import Keyring
from app.services.verification import VerificationInput

Headers = Callable[[str], "str | None"]
Short = Annotated[str, StringConstraints(max_length=120)]
MAX_HEADER = 4096


def e164(value: str) -> str:
    """A phone number in E.164 (Turkish numbers may omit the country code)."""
    from app.validation import phone
    return phone(value, None if value.strip().startswith("+") else "TR")


def protect_card(card_number: str | None, ring: Keyring) -> tuple[str | None, str | None]:
    """(mask, keyed fingerprint) of a card number; raises ``InvalidCardNumber``. The
    fingerprint is what the blacklist and the transactions hold."""
    if card_number is None:
        return None, None
    card = protect_pan(card_number, ring.peppers[ring.current])
    return card.masked, card.fingerprint


def verify_input(body: VerifyIn, ring: Keyring) -> VerificationInput:
    """The verification a ``POST /api/v1/verify`` body asks for (``InvalidCardNumber`` if its
    card number is not one)."""
    address = parse_ip(body.client_ip)
    card_masked, fingerprint = protect_card(body.card_number, ring)
    return VerificationInput(
        token=body.token, client_ip=address if address is not None else Failure("bad_ip"),
        site=site_from_headers(body.origin, None, body.back_url), channel="verify",
        operation=body.operation, amount=body.amount, currency=body.currency,
        card_masked=card_masked, card_fingerprint=fingerprint,
        customer_ref=body.customer_ref, destination_ip=body.destination_ip,
        device_id=body.device_id, email=body.email, phone=body.phone)


class VerifyIn(BaseModel):
    """One request to verify. ``token`` is taken as given (any string up to 4 KB): a malformed
    one is answered ``invalid_token``, not 422. ``back_url`` or ``origin`` is the site the
    request came from; ``card_number`` is masked to first 6 / last 4 and never stored."""

    model_config = {"extra": "forbid"}

    token: Annotated[str, StringConstraints(max_length=MAX_HEADER)]
    client_ip: Annotated[str, StringConstraints(max_length=64)]
    back_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    origin: Annotated[str, StringConstraints(max_length=2048)] | None = None
    operation: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    amount: Amount | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    card_number: Annotated[str, StringConstraints(max_length=64)] | None = None
    customer_ref: Short | None = None
    destination_ip: Annotated[str, StringConstraints(max_length=64)] | None = None
    device_id: Short | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else e164(value)

    @field_validator("destination_ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None and parse_ip(value) is None:
            raise ValueError("not an IP address")
        return None if value is None else str(parse_ip(value))


def gateway_token(header: Headers) -> str | None:
    """The merchant token of a gateway check: ``Authorization: Bearer`` or ``X-Api-Key``."""
    auth = header("Authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    key = header("X-Api-Key")
    return key.strip() if key else None


def _amount(header: Headers) -> tuple[Decimal | None, str | None]:
    raw = header("X-Amount")
    if raw and len(raw) > 40:
        raw = "NaN"
    if not raw:
        return None, header("X-Currency")
    try:
        amount = Decimal(raw.strip())
    except InvalidOperation:
        amount = Decimal("NaN")  # refused by the limits check (limit_exceeded)
    return amount, header("X-Currency")


def _card(card: str | None, ring: Keyring) -> tuple[str | None, str | None]:
    if not card:
        return None, None
    try:
        return protect_card(card, ring)
    except InvalidCardNumber:
        return None, None


def _phone(raw: str | None) -> str | None:
    if not raw or len(raw) > 40:
        return None
    try:
        return e164(raw)
    except ValueError:
        return raw.strip()  # matched as given; a blacklisted number is stored in E.164


def gateway_input(header: Headers, peer: str, trusted_proxies: NetworkSet,
                  ring: Keyring) -> VerificationInput:
    """The verification a gateway check asks for. Oversized header values pass through: every
    parser refuses them by length before parsing."""
    client_ip = resolve_client_ip(peer, header("X-Forwarded-For"), header("X-Real-IP"),
                                  trusted_proxies)
    site = site_from_headers(header("Origin"), header("Referer"), header("X-Back-Url"))
    amount, currency = _amount(header)
    card_masked, fingerprint = _card(header("X-Card-Number"), ring)
    destination = parse_ip(header("X-Destination-Ip") or "")
    return VerificationInput(
        token=gateway_token(header), client_ip=client_ip, site=site, channel="gateway",
        operation=(header("X-Operation") or "")[:40] or None, amount=amount,
        currency=(currency or "")[:3] or None, card_masked=card_masked,
        customer_ref=(header("X-Customer-Ref") or "")[:120] or None,
        destination_ip=str(destination) if destination else None, card_fingerprint=fingerprint,
        device_id=(header("X-Device-Id") or "")[:120] or None,
        email=(header("X-Customer-Email") or "")[:320] or None,
        phone=_phone(header("X-Customer-Phone")))
