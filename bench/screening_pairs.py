"""Labelled name pairs for the screening quality bench, generated deterministically from real lists.

Every pair is ``(category, label, query, query_type, target)``: ``target`` is one real list entry
(OFAC SDN or UN consolidated) reduced to its primary name, ``query`` a name an onboarding form
might carry, ``label`` 1 when the query names that entry. Positives are the list's own spelling
aliases and generated variants of the kinds issue #12 lists (legal forms across languages, joined
words, digits for letters, initials, numbers as words, honorifics, other scripts, Turkish letters,
typos, reordering). Negatives are *hard*: another entry of the same lists sharing the surname, the
first name or a distinctive company word, put through the same variant, so that every category
has both classes and its precision means something.

Same lists + same seed → same pairs (entries are sorted by id, one ``random.Random(seed)``).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from checks.screening.entries import ListEntry

PER_CATEGORY = 120  # positives per category (negatives: about as many, where hard ones exist)

_LEET = str.maketrans({"o": "0", "O": "0", "i": "1", "I": "1", "e": "3", "E": "3", "a": "4",
                       "A": "4"})
_TR_LETTERS = str.maketrans({"s": "ş", "S": "Ş", "c": "ç", "C": "Ç", "o": "ö", "O": "Ö",
                             "u": "ü", "U": "Ü", "g": "ğ", "G": "Ğ", "i": "ı", "I": "İ"})
_CYRILLIC = [("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"),
             ("yu", "ю"), ("ya", "я"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"),
             ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("y", "й"), ("k", "к"), ("l", "л"),
             ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"),
             ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"), ("j", "дж"), ("w", "в"),
             ("x", "кс"), ("q", "к")]
_GREEK = [("th", "θ"), ("ph", "φ"), ("ps", "ψ"), ("ch", "χ"), ("kh", "χ"), ("a", "α"),
          ("b", "β"), ("g", "γ"), ("d", "δ"), ("e", "ε"), ("z", "ζ"), ("i", "ι"), ("k", "κ"),
          ("l", "λ"), ("m", "μ"), ("n", "ν"), ("x", "ξ"), ("o", "ο"), ("p", "π"), ("r", "ρ"),
          ("s", "σ"), ("t", "τ"), ("u", "ου"), ("f", "φ"), ("c", "κ"), ("y", "ι"), ("w", "ου"),
          ("v", "β"), ("h", ""), ("j", "τζ"), ("q", "κ")]
HONORIFICS = ("Dr.", "Mr.", "Mrs.", "Sheikh", "General", "Colonel", "Haji", "Prof.", "Mullah",
              "Bay", "Sayyid", "Maulana")
# Legal forms: (pattern on the list's name, equivalents in other languages or spelled out).
LEGAL_FORMS = [
    (r"\bLIMITED LIABILITY COMPANY\b|\bL\.?L\.?C\.?$|\bOOO\b|\bLTD\.?$|\bLIMITED$",
     ["Limited Liability Company", "OOO", "Obshchestvo s Ogranichennoy Otvetstvennostyu",
      "GmbH", "Ltd.", "Ltd. Şti.", "S.R.L.", "Limited", "TOV", "LLC"]),
    (r"\bJOINT STOCK COMPANY\b|\bJSC\b|\bOJSC\b|\bOAO\b|\bPJSC\b|\bAO\b|\bCJSC\b|\bZAO\b",
     ["Joint Stock Company", "JSC", "AO", "Aktsionernoe Obshchestvo", "OAO",
      "Open Joint Stock Company", "PAO", "Public Joint Stock Company", "A.Ş.", "AG",
      "Aktiengesellschaft", "S.A."]),
    (r"\bS\.?A\.?$|\bSOCIEDAD ANONIMA\b|\bA\.?G\.?$|\bA\.?S\.?$|\bINC\.?$|\bCORP(ORATION)?\.?$|"
     r"\bCO\.?,? LTD\.?$",
     ["S.A.", "Sociedad Anónima", "Société Anonyme", "AG", "Aktiengesellschaft", "A.Ş.",
      "Anonim Şirketi", "Inc.", "Incorporated", "Corporation", "Co., Ltd."]),
]
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen " \
       "fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORDINALS = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth", "5": "Fifth",
            "6": "Sixth", "7": "Seventh", "8": "Eighth", "9": "Ninth", "10": "Tenth"}
ORDINAL_WORDS = {v.upper(): k for k, v in ORDINALS.items()}
# Turkish given names and surnames (with their letters) for synthetic listed Turkish persons.
TR_GIVEN = ("Mehmet Ayşe Fatma Ahmet Mustafa Zeynep Emre Elif Burak Selin Hakan Derya Murat Gökhan "
            "Şükrü Çağla Ümit Özge İbrahim Ismail Tuğba Ertuğrul Gülşen Yiğit Kürşad Mevlüt "
            "Cengiz Nurşen Barış Uğur").split()
TR_FAMILY = ("Yılmaz Kaya Demir Şahin Çelik Yıldız Aydın Öztürk Arslan Doğan Kılıç Aslan Çetin "
             "Koç Kurt Özdemir Erdoğan Güneş Aksoy Bayık Düzcan Karayılan Türkoğlu Şimşek Çakır "
             "Işık Uçar Gök Ünal Bozkurt").split()


@dataclass(frozen=True)
class Pair:
    """One labelled pair; ``target`` is the entry the query is screened against."""

    category: str
    label: int
    query: str
    person: bool
    target: ListEntry


def _tokens(name: str) -> list[str]:
    return name.replace(",", " ").split()


def _number_words(n: int) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("-" + ONES[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + (" " + _number_words(rest) if rest else "")
    return str(n)


def bare(entry: ListEntry, name: str | None = None) -> ListEntry:
    """The entry with one name only (its primary, or ``name``) and no aliases."""
    data = entry.to_dict()
    data.update(primary_name=name or entry.primary_name, aliases=[], weak_aliases=[])
    return ListEntry.from_dict(data)


class Generator:
    """Builds the pairs; one instance per run (it owns the random stream)."""

    def __init__(self, entries: Iterable[ListEntry], seed: int = 12) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not security
        self.entries = sorted(entries, key=lambda e: (e.list_name, e.entry_id))
        self.people = [e for e in self.entries if e.is_person and len(_tokens(e.primary_name)) > 1]
        self.orgs = [e for e in self.entries if e.entry_type == "entity"]
        self.by_token: dict[str, list[ListEntry]] = defaultdict(list)
        for entry in self.people + self.orgs:
            for token in {t.upper().strip(".,") for t in _tokens(entry.primary_name)}:
                if len(token) > 3:
                    self.by_token[token].append(entry)
        self.pairs: list[Pair] = []

    # -- hard negatives -------------------------------------------------------------------------
    def neighbour(self, entry: ListEntry, positions: tuple[int, ...]) -> ListEntry | None:
        """Another entry of the same type sharing the token at one of ``positions``."""
        tokens = _tokens(entry.primary_name)
        for position in positions:
            if abs(position) > len(tokens) - (position >= 0):
                continue
            token = tokens[position].upper().strip(".,")
            others = [o for o in self.by_token.get(token, ())
                      if o.entry_id != entry.entry_id and o.is_person == entry.is_person
                      and _fold(o.primary_name) != _fold(entry.primary_name)
                      and not set(o.birth_dates) & set(entry.birth_dates)]
            if others:
                return self.rng.choice(others)
        return None

    def add(self, category: str, entry: ListEntry, variant: Callable[[str], str | None],
            negatives: tuple[int, ...] = (-1, 0),
            wrong: Callable[[ListEntry], str | None] | None = None) -> bool:
        """A positive (variant of the entry's name) and, if found, a hard negative: the same
        variant of a neighbour's name, or ``wrong(neighbour)``."""
        query = variant(entry.primary_name)
        if not query or query == entry.primary_name:
            return False
        self.pairs.append(Pair(category, 1, query, entry.is_person, bare(entry)))
        other = self.neighbour(entry, negatives)
        if other is not None:
            name = wrong(other) if wrong else variant(other.primary_name) or other.primary_name
            if name:
                self.pairs.append(Pair(category, 0, name, entry.is_person, bare(entry)))
        return True

    def fill(self, category: str, pool: list[ListEntry], variant: Callable[[str], str | None],
             negatives: tuple[int, ...] = (-1, 0), count: int = PER_CATEGORY) -> None:
        pool = list(pool)
        self.rng.shuffle(pool)
        made = 0
        for entry in pool:
            if made >= count:
                break
            made += self.add(category, entry, variant, negatives)

    # -- categories -----------------------------------------------------------------------------
    def build(self) -> list[Pair]:
        rng = self.rng
        self.aliases()
        self.fill("typo", self.people + self.orgs, lambda n: _typo(n, rng))
        self.fill("reorder", self.people, lambda n: " ".join(reversed(_tokens(n))))
        self.fill("honorific", self.people, lambda n: f"{rng.choice(HONORIFICS)} {n}")
        self.fill("initials", self.people,
                  lambda n: _initials(n, rng))
        self.fill("joined", self.people + self.orgs, lambda n: _joined(n, rng))
        self.fill("digits", self.people + self.orgs, lambda n: _leet(n, rng))
        self.fill("legal_form", self.orgs, lambda n: _legal_form(n, rng), negatives=(0, 1))
        self.fill("numbers", [o for o in self.orgs if _has_number(o.primary_name)],
                  _numbers, negatives=(0, 1, -1))
        self.fill("script", self.people, lambda n: _script(n, rng))
        self.original_script()
        self.turkish()
        return self.pairs

    def aliases(self) -> None:
        """The lists' own strong aliases that spell the primary name differently."""
        made = 0
        pool = list(self.people + self.orgs)
        self.rng.shuffle(pool)
        for entry in pool:
            if made >= PER_CATEGORY * 2:
                break
            spellings = [a for a in entry.aliases if _is_spelling(a, entry.primary_name)]
            if spellings:
                made += self.add("alias", entry, lambda _n, s=spellings: self.rng.choice(s),
                                 wrong=lambda o: o.primary_name)

    def original_script(self) -> None:
        """UN entries whose original-script name (Arabic, Cyrillic, CJK…) is the query."""
        pool = [(e, _original(e)) for e in self.entries if _original(e)]
        self.rng.shuffle(pool)
        for entry, alias in pool[:PER_CATEGORY]:
            self.add("original_script", entry, lambda _n, a=alias: a, negatives=(0, -1),
                     wrong=_original)

    def turkish(self) -> None:
        """Turkish names: listed ones with their letters restored, and synthetic listed Turks."""
        rng = self.rng
        listed = [e for e in self.people
                  if "TR" in e.nationalities + e.countries or "Turkey" in e.remarks]
        for entry in listed:
            self.add("turkish", entry, lambda n: n.translate(_TR_LETTERS) if rng.random() < .5
                     else n.upper().replace("I", "İ"))
        synthetic: list[ListEntry] = []
        for number in range(PER_CATEGORY):
            name = f"{rng.choice(TR_GIVEN)} {rng.choice(TR_FAMILY)}"
            synthetic.append(ListEntry(entry_id=f"TR-{number}", kind="sanctions",
                                       list_name="synthetic", entry_type="individual",
                                       primary_name=name))
        for entry in synthetic:
            ascii_name = _fold(entry.primary_name).title()
            upper = entry.primary_name.replace("i", "İ").upper()
            query = ascii_name if rng.random() < .5 else upper
            self.pairs.append(Pair("turkish", 1, query, True, entry))
            family = entry.primary_name.split()[1]
            same = [s for s in synthetic if s.primary_name.split()[1] == family
                    and s.primary_name != entry.primary_name]
            if same:
                self.pairs.append(Pair("turkish", 0, _fold(rng.choice(same).primary_name),
                                       True, entry))


def _original(entry: ListEntry) -> str | None:
    """The entry's name in another script (UN NAME_ORIGINAL_SCRIPT), if it has one."""
    for alias in entry.aliases:
        if re.search(r"[\u0370-\u03ff\u0400-\u04ff\u0600-\u06ff\u3040-\u9fff]", alias):
            return alias
    return None


def _fold(name: str) -> str:
    table = str.maketrans("şŞçÇöÖüÜğĞıİ", "sScCoOuUgGiI")
    return name.translate(table).lower()


def _is_spelling(alias: str, primary: str) -> bool:
    """An alias that is another spelling (shares a 4+ letter word or prefix), not another name."""
    if not re.fullmatch(r"[\x00-\u024f ]+", alias) or _fold(alias) == _fold(primary):
        return False
    a = {t[:4] for t in re.findall(r"[a-z]{4,}", _fold(alias))}
    p = {t[:4] for t in re.findall(r"[a-z]{4,}", _fold(primary))}
    return bool(a & p) and len(a ^ p) > 0


def _typo(name: str, rng: random.Random) -> str | None:
    tokens = _tokens(name)
    long = [i for i, t in enumerate(tokens) if len(t) > 4]
    if not long:
        return None
    i = rng.choice(long)
    t = tokens[i]
    cut = rng.randrange(1, len(t) - 2)
    tokens[i] = t[:cut] + t[cut + 1] + t[cut] + t[cut + 2:] if rng.random() < .5 \
        else t[:cut] + t[cut + 1:]
    return " ".join(tokens)


def _initials(name: str, rng: random.Random) -> str | None:
    """Given names as initials; OFAC writes surnames in capitals ("Mario RAMIREZ TREVINO")."""
    tokens = _tokens(name)
    given = [t for t in tokens if not t.isupper()] if not name.isupper() else tokens[:-1]
    family = tokens[len(given):]
    if not given or not family:
        return None
    if len(given) >= 2 and rng.random() < .5:  # "Hans J Friedrich"
        return " ".join([given[0], *(t[0] for t in given[1:]), *family])
    return "".join(t[0] for t in given).upper() + " " + " ".join(family)  # "JC Juncker"


def _joined(name: str, rng: random.Random) -> str | None:
    tokens = _tokens(name)
    if len(tokens) < 2:
        return None
    if rng.random() < .5:
        return "".join(t.capitalize() for t in tokens)
    return "".join(tokens[:2]) + (" " + " ".join(tokens[2:]) if tokens[2:] else "")


def _leet(name: str, rng: random.Random) -> str | None:
    tokens = _tokens(name)
    picks = rng.sample(range(len(tokens)), k=min(len(tokens), 2))
    for i in picks:
        tokens[i] = tokens[i][0] + tokens[i][1:].translate(_LEET)
    out = " ".join(tokens)
    return out if out != " ".join(_tokens(name)) else None


def _legal_form(name: str, rng: random.Random) -> str | None:
    for pattern, equivalents in LEGAL_FORMS:
        match = re.search(pattern, name, re.IGNORECASE)
        if match:
            stem = (name[:match.start()] + name[match.end():]).strip(" ,")
            form = rng.choice([e for e in equivalents if e.upper() != match.group(0).upper()])
            return f"{form} {stem}" if form in ("OOO", "OAO", "AO", "PAO", "TOV") else \
                f"{stem} {form}"
    return None


def _has_number(name: str) -> bool:
    return any(t.isdigit() and 0 < int(t) < 1000 or t in ORDINAL_WORDS
               for t in re.findall(r"[A-Za-z0-9]+", name.upper()))


def _numbers(name: str) -> str | None:
    out = []
    for token in name.split():
        word = token.upper().strip(".,")
        if word.isdigit() and 0 < int(word) < 1000:
            out.append(_number_words(int(word)).title())
        elif word in ORDINAL_WORDS:
            out.append(ORDINAL_WORDS[word] + {"1": "st", "2": "nd", "3": "rd"}.get(
                ORDINAL_WORDS[word], "th"))
        else:
            out.append(token)
    joined = " ".join(out)
    return joined if joined != name else None


def _script(name: str, rng: random.Random) -> str:
    """The name written in Cyrillic or Greek letters (a simple phonetic mapping)."""
    text = _fold(name)
    for latin, letter in _CYRILLIC if rng.random() < .7 else _GREEK:
        text = text.replace(latin, letter)
    return text.title()
