"""Matcher version 1, frozen: the fuzzy matcher policy kyb-2026.11.1 was calibrated on.

Kept unchanged so that replays of 2026.11.1 assessments and the quality bench's baseline use
exactly the matcher that judged them; new screenings use ``checks.screening.matcher`` (v2).

``ScreeningIndex.build(entries)`` normalises every name and alias once and keeps two partitions:
people (normalised by person rules) and everything else (organisation rules: legal forms dropped,
generic words set aside). A screened name is normalised both ways and each form is compared only
with its own partition, so "ACME Trading Ltd" as an owner still meets companies on equal terms.

Blocking keeps a search to a few hundred candidates instead of every alias: an inverted index maps
each distinctive token's 4-letter prefix and its consonant skeleton ("mohammed", "muhammad" →
"mhmd") to the aliases containing it. Candidates are scored with rapidfuzz on the sorted
distinctive tokens (token-sort); a name wholly contained in a longer one (two or more tokens in
common, e.g. "Saddam Hussein" in "Saddam Hussein al-Tikriti") scores its token-set ratio × 0.9.
A name with a single distinctive token, and a list's own low-quality alias, need
``short_name_threshold``. Birth date and nationality never create a hit; they are reported as
confirming (True), contradicting (False) or unknown (None) evidence and order equal-score hits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz, process

from checks.facts import ScreeningHit
from checks.screening.countries import country_code
from checks.screening.entries import ListEntry, LoadedList
from checks.screening.normalize import NormalName, name_variants, normalize_name

MATCHER_VERSION = 1
ROLES = ("legal_name", "trade_name", "owner")
SUBSET_WEIGHT = 0.9
_VOWELS = re.compile(r"(?<=.)[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")
_LOW_VALUE = frozenset("al el bin ben ibn abu abd abdul ould".split())


def skeleton(token: str) -> str:
    """Consonant skeleton of a token: first letter kept, later vowels dropped, repeats collapsed."""
    return _REPEATS.sub(r"\1", _VOWELS.sub("", token))


def block_keys(tokens: Iterable[str]) -> set[str]:
    """Inverted-index keys of a name: prefix and skeleton of each informative token."""
    tokens = list(tokens)
    informative = [t for t in tokens if len(t) > 2 and t not in _LOW_VALUE] or tokens
    keys: set[str] = set()
    for token in informative:
        keys.add("p:" + token[:4])
        keys.add("s:" + skeleton(token))
    return keys


@dataclass(frozen=True)
class _Alias:
    entry: int
    name: str
    normal: NormalName
    weak: bool


class _Partition:
    """The aliases of one name kind (people, or organisations and objects) with their blocks."""

    def __init__(self, person: bool) -> None:
        self.person = person
        self.aliases: list[_Alias] = []
        self.keys: list[str] = []
        self.tokens: list[frozenset[str]] = []
        self.blocks: dict[str, list[int]] = {}

    def add(self, entry: int, name: str, weak: bool) -> None:
        normal = normalize_name(name, person=self.person)
        if not normal.is_distinctive:
            return
        position = len(self.aliases)
        self.aliases.append(_Alias(entry, name, normal, weak))
        self.keys.append(normal.key)
        self.tokens.append(frozenset(normal.distinctive))
        for key in block_keys(normal.distinctive):
            self.blocks.setdefault(key, []).append(position)

    def candidates(self, query: NormalName) -> list[int]:
        found: set[int] = set()
        for key in block_keys(query.distinctive):
            found.update(self.blocks.get(key, ()))
        return sorted(found)

    def search(self, query: NormalName, cutoff: float) -> dict[int, float]:
        """Best score per alias position at or above ``cutoff`` (before short-name rules)."""
        positions = self.candidates(query)
        if not positions:
            return {}
        choices = [self.keys[p] for p in positions]
        scores: dict[int, float] = {}
        cutoff = max(0.0, cutoff - 0.05)  # scores are reported rounded to 0.1
        for _, score, i in process.extract(
            query.key, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        ):
            scores[positions[i]] = score
        if len(query.distinctive) >= 2 and cutoff / SUBSET_WEIGHT <= 100:
            wanted = set(query.distinctive)
            for _, score, i in process.extract(
                query.key,
                choices,
                scorer=fuzz.token_set_ratio,
                score_cutoff=cutoff / SUBSET_WEIGHT,
                limit=None,
            ):
                position = positions[i]
                if len(wanted & self.tokens[position]) >= 2:
                    weighted = score * SUBSET_WEIGHT
                    scores[position] = max(scores.get(position, 0.0), weighted)
        return scores


class ScreeningIndex:
    """An immutable in-memory index over list entries: build once per list version, then share."""

    def __init__(
        self,
        entries: Iterable[ListEntry],
        versions: Mapping[str, str] | None = None,
        *,
        threshold: float = 88.0,
        short_name_threshold: float = 95.0,
    ) -> None:
        self.entries: tuple[ListEntry, ...] = tuple(entries)
        self.versions = dict(versions or {})
        self.threshold = threshold
        self.short_name_threshold = short_name_threshold
        self._people = _Partition(person=True)
        self._others = _Partition(person=False)
        for number, entry in enumerate(self.entries):
            partition = self._people if entry.is_person else self._others
            for name, weak in entry.names():
                for variant in name_variants(name):
                    partition.add(number, variant, weak)

    @classmethod
    def build(
        cls,
        entries: Iterable[ListEntry | Mapping],
        versions: Mapping[str, str] | None = None,
        **options: float,
    ) -> ScreeningIndex:
        """Index entries given as ``ListEntry`` or their ``to_dict`` form (as stored in a database).

        ``versions`` maps list name to list version; a dict entry may instead carry its own
        ``list_version`` key. ``options``: ``threshold``, ``short_name_threshold``.
        """
        merged = dict(versions or {})
        parsed: list[ListEntry] = []
        for item in entries:
            if isinstance(item, ListEntry):
                parsed.append(item)
                continue
            entry = ListEntry.from_dict(dict(item))
            if item.get("list_version"):
                merged.setdefault(entry.list_name, str(item["list_version"]))
            parsed.append(entry)
        return cls(parsed, merged, **options)

    @classmethod
    def from_lists(cls, *lists: LoadedList, **options: float) -> ScreeningIndex:
        """Index one or more loaded lists, remembering each list's version."""
        entries = [e for loaded in lists for e in loaded.entries]
        return cls(entries, {loaded.list_name: loaded.version for loaded in lists}, **options)

    matcher_version = MATCHER_VERSION

    @property
    def alias_count(self) -> int:
        """How many distinct normalised names are indexed."""
        return len(self._people.aliases) + len(self._others.aliases)

    def screen(
        self,
        name: str,
        role: str,
        birth_date: date | str | None = None,
        nationality: str | None = None,
        limit: int = 10,
        threshold: float | None = None,
    ) -> list[ScreeningHit]:
        """Candidate hits for ``name`` (best first, at most ``limit``; at most one per entry).

        ``role`` is 'legal_name', 'trade_name' or 'owner'. ``birth_date`` (date or ISO text) and
        ``nationality`` (alpha-2 or a country name) only confirm or contradict a name match.
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        threshold = self.threshold if threshold is None else threshold
        best: dict[int, tuple[float, _Alias]] = {}
        for partition in (self._people, self._others):
            query = normalize_name(name, person=partition.person)
            if not query.is_distinctive:
                continue
            for position, score in partition.search(query, threshold).items():
                alias = partition.aliases[position]
                score = round(float(score), 1)  # the threshold applies to the reported score
                if score < self._required(query, alias, threshold):
                    continue
                current = best.get(alias.entry)
                if current is None or (score, not alias.weak) > (current[0], not current[1].weak):
                    best[alias.entry] = (score, alias)
        hits = [
            self._hit(name, role, score, alias, birth_date, nationality)
            for score, alias in best.values()
        ]
        hits.sort(key=lambda h: (-h.score, _evidence_rank(h), h.list_name, h.entry_id))
        return hits[:limit]

    def _required(self, query: NormalName, alias: _Alias, threshold: float) -> float:
        short = min(len(query.distinctive), len(alias.normal.distinctive)) == 1
        return max(threshold, self.short_name_threshold) if short or alias.weak else threshold

    def _hit(
        self,
        subject: str,
        role: str,
        score: float,
        alias: _Alias,
        birth_date: date | str | None,
        nationality: str | None,
    ) -> ScreeningHit:
        entry = self.entries[alias.entry]
        places = entry.nationalities if entry.is_person else entry.countries
        return ScreeningHit(
            kind=entry.kind,
            list_name=entry.list_name,
            list_version=self.versions.get(entry.list_name, ""),
            entry_id=entry.entry_id,
            entry_name=entry.primary_name,
            matched_alias=alias.name,
            subject=subject,
            subject_role=role,
            score=score,
            birth_date_match=birth_date_evidence(birth_date, entry.birth_dates),
            nationality_match=nationality_evidence(nationality, places),
            programs=entry.programs,
        )


def _evidence_rank(hit: ScreeningHit) -> int:
    """Confirmed before unknown before contradicted, for hits of equal score."""
    marks = (hit.birth_date_match, hit.nationality_match)
    return sum({True: 0, None: 1, False: 3}[m] for m in marks)


def birth_date_evidence(subject: date | str | None, listed: Iterable[str]) -> bool | None:
    """True if a listed date (day, month or year precision) fits, False if none, None if unknown."""
    listed = [d for d in listed if d]
    if subject is None or subject == "" or not listed:
        return None
    iso = subject.isoformat() if isinstance(subject, date) else str(subject).strip()[:10]
    return any(iso.startswith(d) or d.startswith(iso) for d in listed)


def nationality_evidence(subject: str | None, listed: Iterable[str]) -> bool | None:
    """True if the subject's country is among the listed ones, False if not, None if unknown."""
    listed = set(listed)
    code = country_code(subject) if subject else None
    if code is None or not listed:
        return None
    return code in listed
