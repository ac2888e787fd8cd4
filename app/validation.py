"""Field validators shared by the JSON API and the portal forms, each delegating to a
well-kept library: schwifty (IBAN), pycountry (countries, currencies), email-validator,
phonenumbers, python-stdnum (Turkish identity and tax numbers), idna + tldextract (websites).

Each function returns the normalised value or raises ``ValueError`` with a message a person
can act on.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.tr import tckimlik, vkn

from checks.sources.domains import is_public_suffix, normalise_host, split_host


class FieldError(ValueError):
    """A ``ValueError`` about one named field, raised where pydantic cannot tell which field
    (a model validator that checks fields against each other)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


LOCAL_HOSTS = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased."""
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def currency_code(value: str) -> str:
    """An ISO 4217 currency code, upper-cased."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


def iban(value: str) -> IBAN:
    """A valid IBAN (country format and ISO 7064 checksum)."""
    try:
        return IBAN(value)
    except SchwiftyException as exc:
        raise ValueError(f"invalid IBAN: {exc}") from exc


def email(value: str) -> str:
    """A syntactically valid e-mail address, normalised (no DNS lookups)."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def phone(value: str, region: str | None) -> str:
    """A valid phone number in E.164; national numbers are read in ``region``."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def turkish_tax_id(value: str) -> str:
    """A Turkish VKN (10 digits, companies) or TCKN (11 digits, sole proprietors)."""
    digits = value.strip()
    if vkn.is_valid(digits):
        return vkn.compact(digits)
    if tckimlik.is_valid(digits):
        return tckimlik.compact(digits)
    raise ValueError("not a valid Turkish tax number (VKN, 10 digits) or T.C. identity "
                     "number (TCKN, 11 digits)")


def turkish_national_id(value: str) -> str:
    """A valid T.C. kimlik numarası (TCKN)."""
    if not tckimlik.is_valid(value.strip()):
        raise ValueError("not a valid T.C. identity number (TCKN, 11 digits with checksum)")
    return tckimlik.compact(value.strip())


def website(value: str) -> tuple[str, str]:
    """An https website: returns ``(normalised URL, registered domain)``.

    Refuses other schemes, IP literals, localhost, user-info, and hosts that are a public
    suffix (the PSL snapshot bundled with tldextract; never a download at runtime).
    """
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() != "https":
        raise ValueError("the website must be an https:// URL")
    if parts.username or parts.password:
        raise ValueError("the website URL must not contain user information")
    if not parts.hostname:
        raise ValueError("the website URL has no host name")
    host = normalise_host(parts.hostname)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError("the website must be a domain name, not an IP address")
    if host in LOCAL_HOSTS or host.endswith(".localhost") or "." not in host:
        raise ValueError("the website must be a public domain name, not localhost")
    domain = split_host(host)
    if is_public_suffix(host) or domain.registered_domain is None:
        raise ValueError(f"{host} is a public suffix, not a registrable domain")
    port = f":{parts.port}" if parts.port and parts.port != 443 else ""
    path = parts.path or "/"
    return f"https://{host}{port}{path}", domain.registered_domain


def ip_address(value: str) -> str:
    """An IPv4 or IPv6 address in canonical text form."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError as exc:
        raise ValueError("not an IPv4 or IPv6 address") from exc


def person_name_key(name: str) -> str:
    """A comparison key for a person's name: case, accents, Turkish i and word order folded."""
    text = name.replace("İ", "i").replace("ı", "i").replace("I", "i")
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = "".join(c if c.isalnum() else " " for c in text).split()
    return " ".join(sorted(words))


def plain_text(value: str, field: str) -> str:
    """Refuse control characters (other than none at all) in a free-text field."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError(f"{field} must not contain control characters")
    if not value.strip():
        raise ValueError(f"{field} must not be blank")
    return value
