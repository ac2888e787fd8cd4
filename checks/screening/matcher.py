"""Fuzzy screening of names against loaded sanctions and PEP lists (matcher version 2).

``ScreeningIndex.build(entries)`` normalises every name and alias once (``names.normalize``, on
rigour: transliteration, legal forms across languages, digits and number words, honorifics, camel
case) and keeps two partitions: people (person rules) and everything else (organisation rules:
legal forms dropped, generic words set aside). A screened name is normalised both ways and each
form is compared only with its own partition, so "ACME Trading Ltd" as an owner still meets
companies on equal terms.

Blocking keeps a search to a few hundred candidates instead of every alias: an inverted index maps
each distinctive token's 4-letter prefix, its consonant skeleton ("mohammed", "muhammad" → "mhmd")
and its metaphone key (jellyfish) to the aliases containing it. A candidate's score is the best of:
token-sort ratio of the distinctive tokens; a name wholly contained in a longer one (two or more
tokens in common) at its token-set ratio × 0.9; the words run together ("sergeilavrov"); a token
alignment that lets an initial stand for a name ("Hans J Friedrich", "JC Juncker"); and, when
either side was written in an abjad (Arabic), the consonant skeletons × 0.95; and a name written
with a part left out on one side (a patronymic or middle name) whose every part pairs with a
similar one, one exactly, × 0.9 (``subset_score``); and an organisation's word that is the
initials of 3-5 words of the other side read as them, × 0.9 (``acronym_score``). A person's
name whose leading title is also a given name ("Amir", "Sheikh") is indexed and screened in both
forms (``names.forms``). A name with a single distinctive token, and a list's own low-quality
alias, need ``short_name_threshold``.
Birth date, nationality and identifiers (``identifiers.py``) never lower a score; they are
reported as confirming (True), contradicting (False) or unknown (None) evidence and order
equal-score hits, and a shared identifier makes a hit on its own. The matcher v1 that policy
2026.11.1 was calibrated on is kept in ``matcher_v1``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from operator import itemgetter
from typing import Any

import jellyfish
from rapidfuzz import fuzz, process

from checks.facts import HitExplanation, ScreeningHit
from checks.screening.countries import country_code
from checks.screening.entries import ListEntry, LoadedList
from checks.screening.explain import explain
from checks.screening.identifiers import IdentifierHash, IdentifierIndex, SubjectIdentifiers
from checks.screening.names import Name, forms, name_variants, normalize
from checks.screening.similarity import (
    ACRONYM_WEIGHT,
    SUBSET_WEIGHT,
    acronym_score,
    acronyms,
    alignment_score,
    consonants,
    has_initial,
    informative,
    phonetic,
    skeleton,
    subset_score,
)

MATCHER_VERSION = 2
ROLES = ("legal_name", "trade_name", "owner")
SKELETON_WEIGHT = 0.95
PHONETIC_WEIGHT = 0.97
MIN_CONSONANTS = 5
NUMBER_MISMATCH_CAP = 70.0  # a name whose numbers differ is at most a weak candidate
MANY_CANDIDATES = 300  # beyond this, a query of common words keeps aliases sharing two words
COMMON_TOKEN = 600  # aliases under a token's keys beyond which it is skipped if it can be


def token_keys(token: str) -> tuple[str, ...]:
    """Inverted-index keys of one token: its prefix, skeleton and metaphone."""
    if token.isdigit():
        return ("p:" + token[:4],)
    return ("p:" + token[:4], "s:" + skeleton(token), "m:" + jellyfish.metaphone(token))


def block_keys(tokens: Iterable[str]) -> set[str]:
    """Inverted-index keys of a name: prefix, skeleton and metaphone of each informative token."""
    return {key for token in informative(tokens) for key in token_keys(token)}


def _numbers_differ(query: Name, alias: Name) -> bool:
    """Both names carry numbers and not the same ones ("1 October" is not "2 October")."""
    mine = {t for t in query.distinctive if t.isdigit()}
    theirs = {t for t in alias.distinctive if t.isdigit()}
    return bool(mine and theirs) and mine != theirs


class _Scores(dict):
    """Alias position → (best score, the method that gave it)."""

    def offer(self, position: int, score: float, method: str) -> None:
        if score > self.score(position):
            self[position] = (score, method)

    def score(self, position: int) -> float:
        found = self.get(position)
        return found[0] if found else 0.0


@dataclass(frozen=True)
class _Alias:
    entry: int
    name: str
    normal: Name
    weak: bool


class _Partition:
    """The aliases of one name kind (people, or organisations and objects) with their blocks."""

    def __init__(self, person: bool) -> None:
        self.person = person
        self.aliases: list[_Alias] = []
        self.keys: list[str] = []
        self.joined: list[str] = []
        self.initial: list[bool] = []
        self.abjad: list[bool] = []
        self.consonants: list[str] = []
        self.phonetic: list[str] = []
        self.tokens: list[frozenset[str]] = []
        self.acronyms: list[dict[str, tuple[int, int]]] = []
        self.blocks: dict[str, list[int]] = {}
        self.by_word: dict[str, list[int]] = {}  # exact distinctive words (subset, acronym)
        self.by_acronym: dict[str, list[int]] = {}  # initials of 3-5 words (organisations)

    def add(self, entry: int, name: str, weak: bool) -> None:
        for normal in forms(name, person=self.person):
            if normal.is_distinctive:
                self._add(entry, name, normal, weak)

    def _add(self, entry: int, name: str, normal: Name, weak: bool) -> None:
        position = len(self.aliases)
        self.aliases.append(_Alias(entry, name, normal, weak))
        self.keys.append(normal.key)
        self.joined.append(normal.joined)
        self.initial.append(has_initial(normal.distinctive))
        self.abjad.append(normal.abjad)
        self.consonants.append(consonants(normal.distinctive))
        self.phonetic.append(phonetic(normal.distinctive))
        self.tokens.append(frozenset(normal.distinctive))
        runs = {} if self.person else acronyms(normal.distinctive)
        self.acronyms.append(runs)
        for word in set(normal.distinctive):
            self.by_word.setdefault(word, []).append(position)
        for initials in runs:
            self.by_acronym.setdefault(initials, []).append(position)
        for key in block_keys(normal.distinctive):
            self.blocks.setdefault(key, []).append(position)

    def candidates(self, query: Name) -> list[int]:
        """Aliases sharing a key with the query; a very common token ("mohammad") is skipped
        when another token of the query is rarer, so its thousands of aliases are not scored."""
        postings = []
        for token in informative(query.distinctive):
            lists = [self.blocks.get(key, ()) for key in token_keys(token)]
            postings.append((sum(len(found) for found in lists), lists))
        rare = [p for p in postings if p[0] <= COMMON_TOKEN] or postings
        per_token = [set().union(*lists) for _, lists in rare]
        found: set[int] = set().union(*per_token)
        if len(found) > MANY_CANDIDATES and len(per_token) >= 2:
            # Only common words ("Mohammad Ibrahim Said"): keep aliases sharing two of them.
            shared = set().union(*(a & b for i, a in enumerate(per_token)
                                   for b in per_token[i + 1:]))
            found = shared or found
        return sorted(found)

    def search(self, query: Name, cutoff: float) -> _Scores:
        """Best (score, method) per alias position at or above ``cutoff`` (before short-name
        rules)."""
        positions = self.candidates(query)
        scores = _Scores()
        if not positions:
            return scores
        cutoff = max(0.0, cutoff - 0.05)  # scores are reported rounded to 0.1

        def keep(found: Iterable[tuple], method: str, weight: float = 1.0,
                 tokens: bool = False) -> None:
            for _, score, i in found:
                position = positions[i]
                if tokens and len(set(query.distinctive) & self.tokens[position]) < 2:
                    continue
                scores.offer(position, score * weight, method)

        pick = itemgetter(*positions) if len(positions) > 1 else lambda t: (t[positions[0]],)

        def extract(text: str, table: list[str], scorer, at: float) -> list[tuple]:
            return process.extract(text, pick(table), scorer=scorer, score_cutoff=at, limit=None)

        keep(extract(query.key, self.keys, fuzz.ratio, cutoff), "words")
        keep(extract(query.joined, self.joined, fuzz.ratio, cutoff), "joined")
        at = cutoff / PHONETIC_WEIGHT
        if at <= 100:
            found = extract(phonetic(query.distinctive), self.phonetic, fuzz.ratio, at)
            keep(found, "phonetic", PHONETIC_WEIGHT)
        if len(query.distinctive) >= 2 and cutoff / SUBSET_WEIGHT <= 100:
            found = extract(query.key, self.keys, fuzz.token_set_ratio, cutoff / SUBSET_WEIGHT)
            keep(found, "contained", SUBSET_WEIGHT, tokens=True)
        if query.abjad or self.person:
            self._skeleton_scores(query, positions, cutoff, scores)
        if has_initial(query.distinctive) or self.person:
            self._aligned(query, positions, cutoff, scores)
        if cutoff <= 100 * SUBSET_WEIGHT:
            self._subset(query, positions, cutoff, scores)
        if not self.person and cutoff <= 100 * ACRONYM_WEIGHT:
            self._acronym(query, positions, cutoff, scores)
        return scores

    def _acronym(self, query: Name, positions: list[int], cutoff: float,
                 scores: _Scores) -> None:
        """Organisations named by an acronym on one side ("IRGC Ground Forces" and "Islamic
        Revolutionary Guard Corps Ground Force")."""
        mine = acronyms(query.distinctive)
        found = {p for word in query.distinctive for p in self.by_acronym.get(word, ())}
        found |= {p for initials in mine for p in self.by_word.get(initials, ())}
        for position in sorted(found.intersection(positions)):
            theirs = self.aliases[position].normal.distinctive
            score = max(acronym_score(query.distinctive, theirs, self.acronyms[position]),
                        acronym_score(theirs, query.distinctive, mine))
            if score >= cutoff:
                scores.offer(position, score, "acronym")

    def _subset(self, query: Name, positions: list[int], cutoff: float,
                scores: _Scores) -> None:
        """Names with a part left out on one side, for candidates sharing a word."""
        size = len(query.distinctive)
        for position in self._sharing_a_word(query, positions):
            if scores.score(position) >= 100 * SUBSET_WEIGHT \
                    or len(self.aliases[position].normal.distinctive) == size:
                continue
            score = subset_score(query.distinctive, self.aliases[position].normal.distinctive,
                                 person=self.person)
            if score >= cutoff:
                scores.offer(position, score, "subset")

    def _sharing_a_word(self, query: Name, positions: list[int]) -> list[int]:
        """The candidates sharing an informative word with the query, from whichever of the
        word index and the candidate list is shorter to walk."""
        words = frozenset(t for t in informative(query.distinctive) if len(t) > 2)
        postings = [self.by_word.get(word, ()) for word in words]
        if sum(len(found) for found in postings) < len(positions):
            return sorted({p for found in postings for p in found}.intersection(positions))
        return [p for p in positions if not words.isdisjoint(self.tokens[p])]

    def _skeleton_scores(self, query: Name, positions: list[int], cutoff: float,
                         scores: _Scores) -> None:
        """Consonants compared in order when one side was written in an abjad (Arabic)."""
        wanted = consonants(query.distinctive)
        if len(wanted) < MIN_CONSONANTS:
            return
        for position in positions:
            if not (query.abjad or self.abjad[position]):
                continue
            score = fuzz.ratio(wanted, self.consonants[position]) * SKELETON_WEIGHT
            if score >= cutoff and len(self.consonants[position]) >= MIN_CONSONANTS:
                scores.offer(position, score, "consonants")

    def _aligned(self, query: Name, positions: list[int], cutoff: float,
                 scores: _Scores) -> None:
        """Token alignment (initials) for candidates that have or meet an initial and share a
        whole word with the query."""
        query_initial = has_initial(query.distinctive)
        words = frozenset(t for t in informative(query.distinctive) if len(t) > 2)
        for position in positions:
            if not (query_initial or self.initial[position]) or scores.score(position) >= 99:
                continue
            if words.isdisjoint(self.tokens[position]):
                continue
            score = alignment_score(query.distinctive, self.aliases[position].normal.distinctive)
            if score >= cutoff:
                scores.offer(position, score, "initials")


class ScreeningIndex:
    """An immutable in-memory index over list entries: build once per list version, then share."""

    def __init__(
        self,
        entries: Iterable[ListEntry],
        versions: Mapping[str, str] | None = None,
        *,
        threshold: float = 88.0,
        short_name_threshold: float = 95.0,
        identifier_hash: IdentifierHash | None = None,
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
        # Listed identifiers, hashed with ``identifier_hash`` (the application's national-id
        # hash) so that an owner's hashed national id can be compared (issue #12).
        self._identifiers = IdentifierIndex(self.entries, identifier_hash)

    @classmethod
    def build(
        cls,
        entries: Iterable[ListEntry | Mapping],
        versions: Mapping[str, str] | None = None,
        **options: Any,
    ) -> ScreeningIndex:
        """Index entries given as ``ListEntry`` or their ``to_dict`` form (as stored in a database).

        ``versions`` maps list name to list version; a dict entry may instead carry its own
        ``list_version`` key. ``options``: ``threshold``, ``short_name_threshold``,
        ``identifier_hash``.
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
    def from_lists(cls, *lists: LoadedList, **options: Any) -> ScreeningIndex:
        """Index one or more loaded lists, remembering each list's version."""
        entries = [e for loaded in lists for e in loaded.entries]
        return cls(entries, {loaded.list_name: loaded.version for loaded in lists}, **options)

    def lists_of_kind(self, kind: str) -> tuple[str, ...]:
        """``("OFAC SDN@<version>", …)``: the indexed lists holding entries of ``kind``
        (``sanctions`` or ``pep``), named as ``screened_lists`` names them."""
        names = {e.list_name for e in self.entries if e.kind == kind}
        return tuple(f"{name}@{version}" for name, version in sorted(self.versions.items())
                     if name in names)

    matcher_version = MATCHER_VERSION

    def entry(self, list_name: str, entry_id: str) -> ListEntry | None:
        """The indexed entry ``entry_id`` of list ``list_name`` (None: not in the index)."""
        by_id = self.__dict__.get("_by_id")
        if by_id is None:
            by_id = {(e.list_name, e.entry_id): e for e in self.entries}
            self.__dict__["_by_id"] = by_id
        return by_id.get((list_name, entry_id))

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
        identifiers: Iterable[str] = (),
        hashed_identifiers: Iterable[str] = (),
    ) -> list[ScreeningHit]:
        """Candidate hits for ``name`` (best first, at most ``limit``; at most one per entry).

        ``role`` is 'legal_name', 'trade_name' or 'owner'. ``birth_date`` (date or ISO text) and
        ``nationality`` (alpha-2 or a country name) only confirm or contradict a name match.
        ``identifiers`` (passport, national id, tax id… in clear) and ``hashed_identifiers``
        (national ids as the ``identifier_hash`` the index was built with gives them) do too,
        and an entry sharing one is a hit whatever its name scores (``identifier_match`` True).
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        threshold = self.threshold if threshold is None else threshold
        wanted = SubjectIdentifiers.of(identifiers, hashed_identifiers)
        best: dict[int, tuple[float, _Alias, str, Name]] = {}
        for partition in (self._people, self._others):
            for query in forms(name, person=partition.person):
                if query.is_distinctive:
                    self._search(partition, query, threshold, best)
        for number in sorted(self._identifiers.entries_sharing(wanted)):
            if number not in best:
                best[number] = self._by_identifier(name, number)
        hits = [
            self._hit(name, role, score, alias, birth_date, nationality, wanted,
                      explain(query, alias.normal, method, alias.weak))
            for score, alias, method, query in best.values()
        ]
        hits.sort(key=lambda h: (-h.score, _evidence_rank(h), h.list_name, h.entry_id))
        return hits[:limit]

    def _search(self, partition: _Partition, query: Name, threshold: float,
                best: dict[int, tuple[float, _Alias, str, Name]]) -> None:
        """Keep in ``best`` each entry's best alias for ``query`` at or above ``threshold``."""
        for position, (score, method) in partition.search(query, threshold).items():
            alias = partition.aliases[position]
            if _numbers_differ(query, alias.normal):
                score = min(score, NUMBER_MISMATCH_CAP)
            score = round(float(score), 1)  # the threshold applies to the reported score
            if score < self._required(query, alias, threshold):
                continue
            current = best.get(alias.entry)
            if current is None or (score, not alias.weak) > (current[0], not current[1].weak):
                best[alias.entry] = (score, alias, method, query)

    def _by_identifier(self, name: str, number: int) -> tuple[float, _Alias, str, Name]:
        """An entry found by identifier alone: its best-scoring name, however low."""
        entry = self.entries[number]
        query = normalize(name, person=entry.is_person)
        scored = []
        for alias_name, weak in entry.names():
            normal = normalize(alias_name, person=entry.is_person)
            score = round(fuzz.token_sort_ratio(query.key, normal.key), 1)
            scored.append((score, _Alias(number, alias_name, normal, weak), "identifier", query))
        return max(scored, key=lambda found: found[0])

    def _required(self, query: Name, alias: _Alias, threshold: float) -> float:
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
        identifiers: SubjectIdentifiers,
        explanation: HitExplanation | None = None,
    ) -> ScreeningHit:
        entry = self.entries[alias.entry]
        shared, said = self._identifiers.evidence(identifiers, alias.entry, entry)
        if explanation is not None and said:
            explanation = replace(explanation, identifier=said)
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
            identifier_match=shared,
            explanation=explanation,
            position="; ".join(entry.positions) or None,
        )


def _evidence_rank(hit: ScreeningHit) -> int:
    """Confirmed before unknown before contradicted, for hits of equal score."""
    marks = (hit.birth_date_match, hit.nationality_match)
    rank = sum({True: 0, None: 1, False: 3}[m] for m in marks)
    return rank - 10 if hit.identifier_match else rank


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
