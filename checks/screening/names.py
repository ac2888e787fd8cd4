"""Name normalisation for matcher v2, on OpenSanctions' ``rigour`` (issue #12).

Both sides of a comparison go through ``normalize``; what v1 did (``normalize.py``) still holds —
Turkish dotted/dotless i folded first, dotted abbreviations joined, legal forms dropped and generic
business words set aside for organisations — and v2 adds what the misses of issue #12 needed:

- transliteration by ``rigour.text.ascii_text`` (Cyrillic, Greek, Arabic, CJK…); a name written in
  an abjad (Arabic, Hebrew, Syriac) is marked so the matcher compares consonant skeletons;
- words run together in camel case are split ("SergeiLavrov" → "sergei lavrov");
- digits inside words read as letters ("Ig0r Sech1n" → "igor sechin"), ordinals and number words
  as numbers ("1st", "First" → "1"; "Forty-Four" → "44");
- legal forms across languages through ``rigour.names.replace_org_types_compare`` (a German
  "Aktiengesellschaft" is "AG", a Russian "Aktsionernoe Obshchestvo" is "AO"), then dropped;
- leading honorifics and titles of persons ("Dr.", "General") dropped; the religious and noble
  ones that are also given names ("Amir", "Sheikh", "Sayed", "Haji") give a second form of the
  name with them kept (``forms``), so "Amir Ali Chaudry" still meets "Aamir Ali Chaudhry" and
  "Sheikh Ali X" still meets "Ali X".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rigour.names import replace_org_types_compare
from rigour.text import ascii_text

from checks.screening.normalize import GENERIC_WORDS, LEGAL_FORMS, MIN_DISTINCTIVE_CHARS

ORG_FORMS = LEGAL_FORMS | frozenset(
    """coltd sacv anonim anonyme societe pjsc ojsc cjsc pao tov srl llp kg plc jsc
    aktiengesellschaft gesellschaft sti ltdsti sirketi""".split()
)
# Generic words of other languages the lists write organisation names in (Spanish "Corporación
# CIMEX" is CIMEX); v1's GENERIC_WORDS stay as they were for the frozen baseline.
ORG_GENERIC = GENERIC_WORDS | frozenset(
    """corporacion compania empresa grupo organizacion organization organisation
    societa gruppo comercializadora distribuidora importadora exportadora servicios
    """.split()
)
# Titles that are also given names: dropped in one form of the name, kept in another.
NAME_TITLES = frozenset(
    """sheikh shaikh sheik shaykh haji hajji hadji hajj mullah mulla maulana maulvi mawlawi
    sayyid sayed syed imam emir amir""".split()
)
HONORIFICS = NAME_TITLES | frozenset(
    """mr mrs ms miss mister dr doctor prof professor sir lord lady dame
    general gen colonel col major maj captain capt lieutenant lt commander cmdr admiral brigadier
    sergeant sgt bay bayan hanim sayin rev reverend father mgr""".split()
)
_FILLERS = frozenset("al el bin ben ibn bint abu abd abdul ould mohammed muhammad".split())
_TURKISH_I = str.maketrans({"İ": "i", "ı": "i", "I": "i"})
_CAMEL = re.compile(r"(?<=[a-zà-ÿğışçöü])(?=[A-ZÀ-ÞĞİŞÇÖÜ])")
_ABJAD = re.compile(r"[\u0590-\u05ff\u0600-\u06ff\u0700-\u074f\u0750-\u077f\ufb50-\ufdff]")
_ABBREVIATION = re.compile(r"\b[a-z0-9](?:\.[a-z0-9])+\.?(?![a-z0-9])")
_APOSTROPHES = re.compile(r"['’‘`´ʼʻ]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_PARENTHESES = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*")
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
_LEET = str.maketrans("01345780", "oieastbo")
_UNITS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * n for n, w in enumerate(
    "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_HUNDRED = "hundred"
_ORDINALS = {w: n for n, w in enumerate(
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
    .split())}


@dataclass(frozen=True)
class Name:
    """A name reduced for matching: ``tokens`` all kept, ``distinctive`` those that identify."""

    original: str
    tokens: tuple[str, ...]
    distinctive: tuple[str, ...]
    abjad: bool = False

    @property
    def key(self) -> str:
        return " ".join(sorted(self.distinctive))

    @property
    def joined(self) -> str:
        return "".join(self.distinctive)

    @property
    def is_distinctive(self) -> bool:
        return sum(len(t) for t in self.distinctive) >= MIN_DISTINCTIVE_CHARS


def fold(text: str, *, person: bool) -> str:
    """Transliterated, lower-case, punctuation-free text with legal forms in compare form."""
    text = _CAMEL.sub(" ", unicodedata.normalize("NFKC", text)).translate(_TURKISH_I)
    text = ascii_text(text).lower()
    text = _ABBREVIATION.sub(lambda m: m.group(0).replace(".", "") + " ", text)
    text = _APOSTROPHES.sub("", text)
    text = _NON_WORD.sub(" ", text).strip()
    return text if person else replace_org_types_compare(text)


def _word(token: str) -> str:
    """A token with digits read: '1st' → '1', 'ig0r' → 'igor'; pure numbers stay."""
    ordinal = _ORDINAL.match(token)
    if ordinal:
        return ordinal.group(1)
    if token in _ORDINALS:
        return str(_ORDINALS[token])
    if token.isdigit() or token.isalpha():
        return token
    return token.translate(_LEET)


def _numbers(tokens: list[str]) -> list[str]:
    """Runs of number words as one number: ['forty', 'four'] → ['44']; 'hundred' multiplies."""
    out: list[str] = []
    value: int | None = None
    for token in tokens:
        if token in _UNITS or token in _TENS:
            value = (value or 0) + _UNITS.get(token, _TENS.get(token, 0))
            continue
        if token == _HUNDRED and value is not None:
            value *= 100
            continue
        if value is not None:
            out.append(str(value))
            value = None
        out.append(token)
    if value is not None:
        out.append(str(value))
    return out


def _strip_abjad_article(tokens: list[str]) -> list[str]:
    """Transliterated Arabic writes the article joined ('altkryty'): split it off."""
    out: list[str] = []
    for token in tokens:
        if token.startswith("al") and len(token) > 4:
            out += ["al", token[2:]]
        else:
            out.append(token)
    return out


def normalize(name: str, *, person: bool, keep_name_titles: bool = False) -> Name:
    """Normalise a name by person or organisation rules; ``keep_name_titles`` keeps leading
    titles that are also given names ("Amir", "Sheikh")."""
    abjad = bool(_ABJAD.search(name))
    tokens = _numbers([_word(t) for t in fold(name, person=person).split()])
    if abjad:
        tokens = _strip_abjad_article(tokens)
    if person:
        dropped = HONORIFICS - NAME_TITLES if keep_name_titles else HONORIFICS
        while len(tokens) > 1 and tokens[0] in dropped:
            tokens = tokens[1:]
        distinctive = () if all(t in _FILLERS for t in tokens) else tuple(tokens)
        return Name(name, tuple(tokens), distinctive, abjad)
    kept = tuple(t for t in tokens if t not in ORG_FORMS)
    distinctive = tuple(t for t in kept if t not in ORG_GENERIC and (len(t) > 1 or t.isdigit()))
    return Name(name, kept, distinctive, abjad)


def forms(name: str, *, person: bool) -> tuple[Name, ...]:
    """The name normalised, and for a person whose leading title is also a given name ("Amir
    Ali Chaudry", "Sheikh Ali X") a second form with that title kept: both are screened."""
    first = normalize(name, person=person)
    if not person:
        return (first,)
    second = normalize(name, person=person, keep_name_titles=True)
    return (first,) if second.tokens == first.tokens else (first, second)


def name_variants(name: str) -> tuple[str, ...]:
    """The name as written, and without bracketed parts ('ADF (Allied…)' -> 'ADF')."""
    stripped = _PARENTHESES.sub(" ", name).strip()
    return (name, stripped) if stripped and stripped != name else (name,)
