"""Pairwise similarity of two normalised names' tokens, for matcher 2 (issue #12): phonetic and
consonant spellings, token alignment with initials, a name with parts left out (subset), and
acronyms standing for an organisation's words. Pure functions over token tuples; the matcher
chooses which apply and keeps the best.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz

SUBSET_WEIGHT = 0.9
SUBSET_SIMILARITY = 0.75  # a part of the shorter person name pairs with one this similar
ORG_SUBSET_SIMILARITY = 0.8
ACRONYM_WEIGHT = 0.9  # an acronym standing for words is never strong on its own
ACRONYM_LENGTHS = (3, 4, 5)  # words an acronym may stand for
INITIAL_SIMILARITY = 0.9
_VOWELS = re.compile(r"(?<=.)[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")
_LOW_VALUE = frozenset("al el bin ben ibn abu abd abdul ould".split())
_INITIALS = re.compile(r"^[b-df-hj-np-tv-xz]{1,3}$")
_NOT_CONSONANT = re.compile(r"[aeiouyw]")
_SOUNDS = (("ph", "f"), ("th", "t"), ("dh", "d"), ("kh", "h"), ("gh", "g"), ("sh", "s"),
           ("ch", "c"), ("ou", "u"), ("w", "v"), ("y", "i"), ("j", "i"), ("q", "k"), ("c", "k"),
           ("z", "s"), ("x", "ks"), ("ee", "i"), ("oo", "u"))


def skeleton(token: str) -> str:
    """Consonant skeleton of a token: first letter kept, later vowels dropped, repeats collapsed."""
    return _REPEATS.sub(r"\1", _VOWELS.sub("", token))


def informative(tokens: Iterable[str]) -> list[str]:
    """The tokens worth blocking on (not 'al', 'bin', one- or two-letter words)."""
    tokens = list(tokens)
    return [t for t in tokens if len(t) > 2 and t not in _LOW_VALUE] or tokens


def initials_of(tokens: Iterable[str]) -> list[str]:
    """Tokens with vowel-less short ones read as initials: ['jc', 'juncker'] → ['j', 'c', …]."""
    out: list[str] = []
    for token in tokens:
        out += list(token) if _INITIALS.match(token) and not token.isdigit() else [token]
    return out


def has_initial(tokens: Iterable[str]) -> bool:
    return any(len(t) == 1 or _INITIALS.match(t) for t in tokens)


def phonetic(tokens: Iterable[str]) -> str:
    """Sorted tokens spelled by sound: 'kh'→'h', 'w'→'v', 'y'→'i', 'q'/'c'→'k'…, repeats one."""
    out = []
    for token in tokens:
        for written, sound in _SOUNDS:
            token = token.replace(written, sound)
        out.append(_REPEATS.sub(r"\1", token))
    return " ".join(sorted(out))


def consonants(tokens: Iterable[str]) -> str:
    """The consonants of the name in order, articles dropped: how an abjad writes it."""
    kept = [t for t in tokens if t not in ("al", "el", "ul", "ur")]
    return _REPEATS.sub(r"\1", _NOT_CONSONANT.sub("", "".join(kept)))


def greedy_pairs(left: list[str], right: list[str], floor: float) -> list[tuple[float, int, int]]:
    """Token pairs (similarity 0-1, left index, right index), best first, each token used
    once; an initial pairs with a name it begins (``INITIAL_SIMILARITY``)."""
    pairs = []
    for i, a in enumerate(left):
        for j, b in enumerate(right):
            if len(a) == 1 or len(b) == 1:
                similarity = INITIAL_SIMILARITY if a[0] == b[0] else 0.0
            else:
                similarity = fuzz.ratio(a, b) / 100
            if similarity >= floor:
                pairs.append((similarity, i, j))
    pairs.sort(key=lambda p: -p[0])
    used_left: set[int] = set()
    used_right: set[int] = set()
    kept = []
    for similarity, i, j in pairs:
        if i not in used_left and j not in used_right:
            used_left.add(i)
            used_right.add(j)
            kept.append((similarity, i, j))
    return kept


def alignment_score(query: Iterable[str], alias: Iterable[str]) -> float:
    """0-100: tokens paired greedily by similarity; an initial pairs with a name it begins."""
    left, right = initials_of(query), initials_of(alias)
    matched = total = 0.0
    full = False
    used_left: set[int] = set()
    used_right: set[int] = set()
    for similarity, i, j in greedy_pairs(left, right, 0.7):
        used_left.add(i)
        used_right.add(j)
        initial = len(left[i]) == 1 or len(right[j]) == 1
        weight = 2.0 if initial else float(len(left[i]) + len(right[j]))
        full = full or (not initial and similarity >= 0.8)
        matched += similarity * weight
        total += weight
    total += sum(len(t) for k, t in enumerate(left) if k not in used_left)
    total += sum(len(t) for k, t in enumerate(right) if k not in used_right)
    return 100 * matched / total if full and total else 0.0


def subset_score(query: Iterable[str], alias: Iterable[str], *, person: bool = True) -> float:
    """0-100 for a name written with fewer parts than the other side ("Suleyman Kerimov" and
    "Suleiman Abusaidovich Kerimov", "Rattana Vichai" and "Borisat Rattana Wichai Chamkat"):
    every part of the shorter name must pair with a similar one (``SUBSET_SIMILARITY``), an
    informative one exactly; the score is the pairs' similarity × the subset weight, so a middle
    name or patronymic left out costs a strong hit, not the hit. Organisations' words are
    shorter-lived ("CA", "Insurance" / "Finance"): theirs pair from ``ORG_SUBSET_SIMILARITY``
    and only words of three letters or more."""
    left, right = list(query), list(alias)
    shorter = min(len(left), len(right))
    if shorter < 2 or len(left) == len(right) or any(len(t) == 1 for t in left + right):
        return 0.0
    if not person and min(len(t) for t in (left if len(left) < len(right) else right)) < 3:
        return 0.0
    pairs = greedy_pairs(left, right, SUBSET_SIMILARITY if person else ORG_SUBSET_SIMILARITY)
    if len(pairs) < shorter or not any(similarity == 1.0 and left[i] in informative([left[i]])
                                        and len(left[i]) > 2 for similarity, i, _ in pairs):
        return 0.0
    weights = [len(left[i]) + len(right[j]) for _, i, j in pairs]
    matched = sum(similarity * w for (similarity, _, _), w in zip(pairs, weights, strict=True))
    return 100 * SUBSET_WEIGHT * matched / sum(weights)


def acronyms(tokens: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Initials of each run of ``ACRONYM_LENGTHS`` words → the run's (start, end)."""
    found: dict[str, tuple[int, int]] = {}
    for size in ACRONYM_LENGTHS:
        for start in range(len(tokens) - size + 1):
            run = tokens[start:start + size]
            if all(t.isalpha() for t in run):
                found.setdefault("".join(t[0] for t in run), (start, start + size))
    return found


def acronym_score(short: tuple[str, ...], long: tuple[str, ...],
                  runs: dict[str, tuple[int, int]]) -> float:
    """0-100: ``short`` with one word that is the initials of a run of ``long``'s words
    (``runs`` = ``acronyms(long)``), compared with ``long`` with that run written as the word;
    the other words must match too, x ``ACRONYM_WEIGHT``."""
    for token in short:
        found = runs.get(token)
        if found is None or len(short) < 2:
            continue
        start, end = found
        collapsed = (*long[:start], token, *long[end:])
        words = fuzz.token_sort_ratio(" ".join(short), " ".join(collapsed))
        contained = fuzz.token_set_ratio(" ".join(short), " ".join(collapsed)) * SUBSET_WEIGHT
        return max(words, contained) * ACRONYM_WEIGHT
    return 0.0
