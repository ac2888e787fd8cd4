"""Per-feature explanation of a screening hit (issue #12): which name parts matched, how, and in
which scripts the two names were written. Pure code, used by the matcher when it builds a hit.
"""

from __future__ import annotations

import unicodedata

from rapidfuzz import fuzz

from checks.facts import HitExplanation
from checks.screening.names import Name

SIMILAR = 70  # token ratio from which two words are shown as a (fuzzy) pair


def script_of(text: str) -> str:
    """The writing system of the first letter of ``text``: 'Latin', 'Arabic', 'Cyrillic'…"""
    for char in text:
        if char.isalpha():
            first = unicodedata.name(char, "UNKNOWN").split()[0]
            return {"CJK": "Han"}.get(first, first.title())
    return "Latin"


def name_parts(query: tuple[str, ...], alias: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Greedy pairs of words (exact '=', similar '~', initial) and the words left over."""
    candidates = []
    for i, a in enumerate(query):
        for j, b in enumerate(alias):
            if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
                candidates.append((90.0, i, j, "initial"))
            elif len(a) > 1 and len(b) > 1:
                ratio = fuzz.ratio(a, b)
                if ratio >= SIMILAR:
                    candidates.append((ratio, i, j, "=" if ratio == 100 else "~"))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_query: set[int] = set()
    used_alias: set[int] = set()
    pairs = []
    for _, i, j, how in candidates:
        if i in used_query or j in used_alias:
            continue
        used_query.add(i)
        used_alias.add(j)
        text = f"{query[i]} ~ {alias[j]} (initial)" if how == "initial" else \
            f"{query[i]} {how} {alias[j]}"
        pairs.append((i, text))
    left = [query[i] for i in range(len(query)) if i not in used_query]
    left += [alias[j] for j in range(len(alias)) if j not in used_alias]
    return [text for _, text in sorted(pairs)], left


def explain(query: Name, alias: Name, method: str, weak: bool) -> HitExplanation:
    """The explanation of a hit of ``query`` on ``alias`` scored by ``method``."""
    parts, left = name_parts(query.distinctive, alias.distinctive)
    return HitExplanation(
        method=method,
        name_parts=tuple(parts),
        unmatched=tuple(left),
        subject_script=script_of(query.original),
        alias_script=script_of(alias.original),
        weak_alias=weak,
    )
