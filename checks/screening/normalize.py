"""Name normalisation for sanctions and PEP screening.

Both sides of a comparison go through the same steps, so "IŞIK", "Işık" and "ISIK", "Müller" and
"MULLER", or "صدام حسين" and its UN original-script alias compare equal:

1. Unicode NFKC, Turkish dotted/dotless i (İ, ı) folded to plain i *before* transliteration,
   because ``casefold`` would turn "İ" into "i̇" and leave "ı" alone;
2. ``unidecode`` transliteration (diacritics, Arabic, Cyrillic, Greek, CJK…) and case folding;
3. dotted abbreviations joined ("A.Ş." → "as", "S.A. de C.V." → "sa de cv"), apostrophes
   dropped ("Mas'ud" → "masud"), every other punctuation mark a token break;
4. for organisations, legal-form words (LTD, A.Ş., GmbH, LLC…) removed, and generic business words
   (GLOBAL, TRADING, GROUP…) set aside: they never make a match by themselves.

``NormalName.key`` is the sorted distinctive tokens joined by spaces, ready for token-sort scoring.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from unidecode import unidecode

LEGAL_FORMS = frozenset(
    """
ltd limited llc lc inc incorporated corp corporation co cos plc llp lp lllp pllc
as anonim sirketi sirket sirk sti ltdsti
gmbh mbh ag kg kgaa ug ohg ev
sa sas sarl srl spa sapa snc sca sae saog saoc sal sac saic cv sab sapi rl scs
bv nv vof cvba bvba
ab oy oyj asa aps
fze fzco fzc fzllc dmcc est wll spc
ooo zao oao pao ao tov pat jsc ojsc cjsc pjsc
pte pty pvt bhd sdn kk tbk
""".split()
)

# Words that say what kind of business it is, not which one. A name made only of these (after
# legal forms are gone) identifies nobody, so it never produces a hit.
GENERIC_WORDS = frozenset(
    """
trading trade traders global group groups international intl holding holdings company companies
general services service enterprise enterprises industries industry industrial import export
imports exports investment investments solutions logistics technologies technology tech
consulting consultancy management partners ventures worldwide overseas commercial commerce
business businesses foreign world universal national united systems network networks agency
sanayi ticaret san tic dis ic pazarlama hizmetleri insaat yatirim uluslararasi
the of and for y et und ve de del da do di des du la le les el los las van von der
""".split()
)

# Particles that are part of a person's name in the lists' transliterations but carry little
# identity; they are kept for scoring but a name made only of them is not distinctive.
_PERSON_FILLERS = frozenset("al el bin ben ibn bint abu abd abdul ould mohammed muhammad".split())

MIN_DISTINCTIVE_CHARS = 3
_TURKISH_I = str.maketrans({"İ": "i", "ı": "i", "I": "i"})
_ABBREVIATION = re.compile(r"\b[a-z0-9](?:\.[a-z0-9])+\.?(?![a-z0-9])")
_APOSTROPHES = re.compile(r"['’‘`´ʼʻ]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_PARENTHESES = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*")


@dataclass(frozen=True)
class NormalName:
    """A name reduced for matching.

    ``tokens`` are all tokens after legal forms are dropped; ``distinctive`` are those that are
    not generic; ``key`` is ``distinctive`` sorted and joined (empty: the name identifies nobody).
    """

    original: str
    tokens: tuple[str, ...]
    distinctive: tuple[str, ...]

    @property
    def key(self) -> str:
        return " ".join(sorted(self.distinctive))

    @property
    def is_distinctive(self) -> bool:
        # "RN", "A B": fewer than three letters in all identify nobody, however exact the match.
        return sum(len(t) for t in self.distinctive) >= MIN_DISTINCTIVE_CHARS


def fold(text: str) -> str:
    """Transliterated, case-folded, punctuation-free text: 'IŞIK Ltd. Şti.' -> 'isik ltd sti'."""
    text = unicodedata.normalize("NFKC", text).translate(_TURKISH_I)
    text = unidecode(text).casefold()
    text = _ABBREVIATION.sub(lambda m: m.group(0).replace(".", "") + " ", text)
    text = _APOSTROPHES.sub("", text)
    return _NON_WORD.sub(" ", text).strip()


def tokens_of(text: str) -> tuple[str, ...]:
    """The folded tokens of ``text``."""
    return tuple(fold(text).split())


def normalize_name(name: str, *, person: bool) -> NormalName:
    """Normalise a name by person or organisation rules (a person called "Co" stays "co")."""
    tokens = tokens_of(name)
    if person:
        # Person names keep every token ("San", "Le", "Do" are surnames); only a name made of
        # nothing but common particles ("Abu Mohammed") is not distinctive.
        distinctive = () if all(t in _PERSON_FILLERS for t in tokens) else tokens
        return NormalName(name, tokens, distinctive)
    kept = tuple(t for t in tokens if t not in LEGAL_FORMS)
    distinctive = tuple(t for t in kept if t not in GENERIC_WORDS and len(t) > 1)
    return NormalName(name, kept, distinctive)


def name_variants(name: str) -> tuple[str, ...]:
    """The name as written, and without bracketed parts ('ADF (Allied…)' -> 'ADF')."""
    stripped = _PARENTHESES.sub(" ", name).strip()
    return (name, stripped) if stripped and stripped != name else (name,)
