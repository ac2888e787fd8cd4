"""Country names as sanctions lists spell them, mapped to ISO 3166 alpha-2 codes.

OFAC writes "Korea, North" and "Burma"; the UN writes "Iran (Islamic Republic of)" and
"Türkiye". pycountry knows the official names; the table below covers the list spellings it
does not, so a nationality compares as a code and never as free text.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

_SPELLINGS = {
    "korea, north": "KP",
    "north korea": "KP",
    "democratic people's republic of korea": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "burma": "MM",
    "russia": "RU",
    "syria": "SY",
    "iran": "IR",
    "iran (islamic republic of)": "IR",
    "turkey": "TR",
    "turkiye": "TR",
    "türkiye": "TR",
    "state of palestine": "PS",
    "palestinian": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo, republic of the": "CG",
    "congo": "CG",
    "united kingdom of great britain and northern ireland": "GB",
    "united kingdom": "GB",
    "united states of america": "US",
    "united states": "US",
    "united republic of tanzania": "TZ",
    "tanzania": "TZ",
    "venezuela": "VE",
    "bolivia": "BO",
    "laos": "LA",
    "vietnam": "VN",
    "moldova": "MD",
    "kosovo": "XK",
    "cote d ivoire": "CI",
    "ivory coast": "CI",
    "macau": "MO",
    "the bahamas": "BS",
    "the gambia": "GM",
    "brunei": "BN",
    "cabo verde": "CV",
    "micronesia, federated states of": "FM",
    "bosnia-herzegovina": "BA",
    "czech republic": "CZ",
}


@lru_cache(maxsize=2048)
def country_code(name: str | None) -> str | None:
    """The alpha-2 code for a country name or code as lists write it, ``None`` if unknown."""
    if not name:
        return None
    text = re.sub(r"\s+", " ", name.strip().rstrip(".")).strip()
    if not text:
        return None
    lowered = text.casefold()
    if lowered in _SPELLINGS:
        return _SPELLINGS[lowered]
    if len(text) == 2 and text.isalpha():
        found = pycountry.countries.get(alpha_2=text.upper())
        return found.alpha_2 if found else (text.upper() if text.upper() == "XK" else None)
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None
