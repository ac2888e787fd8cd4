"""``suspicious_description``: gibberish, repeated characters or betting words in transaction
descriptions (R-C10: "asdfg", "1111", "kumar", "bhs", "bet", "kacak").

Text is folded the Turkish way first (``İ``→``i``, ``I``→``ı``; Python's ``lower()`` would
turn ``I`` into ``i`` and ``İ`` into ``i`` plus a combining dot), then to ASCII (``ç``→``c``,
``ğ``→``g``, ``ı``→``i``, ``ö``→``o``, ``ş``→``s``, ``ü``→``u``), so ``KAÇAK``, ``kaçak`` and
``KACAK`` all read ``kacak``. A run of one repeated letter counts anywhere in a word; a run of
one repeated digit only as a whole word (``1111``), so ``10000 TL`` is fine.

Betting terms (policy ``description_terms``) match *inside* words (``Kumarhane``, ``1xbet``,
``bet365``), after leetspeak is read back (``0``→o, ``1``/``!``/``|``→i, ``3``/``€``→e,
``4``/``@``→a, ``5``/``$``→s, ``7``→t, so ``b3t`` and ``k4c4k`` match; a word of digits only is
never read as letters, so prices cannot spell a term) and letters spaced out one by one are
joined (``b e t``, ``b.e.t``). Matching inside words finds ordinary words that merely contain a
short term (``alfabet``, ``sohbet``, ``beton``, ``Betül``; ``tablet`` is t-a-b-l-e-t and is
safe): the policy's ``description_allow`` stems are cut out of a word before the terms are
sought, so ``alfabet`` is clean but ``alfabetbet`` is not. The trade-off: a betting brand
that begins with an allowed stem (``betonbet``) is still found, one that *is* an allowed word
is not.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from checks.monitoring.model import (
    Activity,
    Insufficient,
    MonitoredTransaction,
    ScenarioHit,
    earliest,
    hit,
)
from checks.monitoring.registry import scenario
from checks.monitoring.windows import recent_days, severity
from checks.policy import Policy
from checks.wording import says

_TR_ASCII = str.maketrans({"ç": "c", "ğ": "g", "ı": "i", "ö": "o", "ş": "s", "ü": "u",
                           "â": "a", "î": "i", "û": "u"})
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz")
_WORD = re.compile(r"[a-z0-9]+")
_SYMBOLS = str.maketrans({"@": "a", "$": "s", "€": "e", "!": "i", "|": "i"})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})


def fold(text: str) -> str:
    """``text`` lower-cased the Turkish way and reduced to ASCII letters where it can be."""
    lowered = text.replace("İ", "i").replace("I", "ı").lower().translate(_TR_ASCII)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def term_words(description: str) -> list[str]:
    """The words of ``description`` as the term search reads them: folded, symbols read as
    letters, single letters in a row joined into one word (digits are read in ``betting_terms``
    once the allowed stems are cut, so ``bet3`` cannot become the allowed ``bete``)."""
    words = _WORD.findall(fold(description).translate(_SYMBOLS))
    out: list[str] = []
    singles: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and not word.isdigit():
            singles.append(word)
            continue
        if len(singles) >= 3:
            out.append("".join(singles))
        else:
            out.extend(singles)
        singles = []
        if word:
            out.append(word)
    return out


def betting_terms(description: str, terms: tuple[str, ...],
                  allow: tuple[str, ...] = ()) -> list[str]:
    """The ``terms`` found inside the words of ``description`` once ``allow`` stems are cut."""
    wanted = [t for t in dict.fromkeys(fold(term) for term in terms) if t]
    stems = sorted({fold(a) for a in allow if a}, key=len, reverse=True)
    found: dict[str, None] = {}
    for word in term_words(description):
        for stem in stems:
            word = word.replace(stem, " ")
        if not word.isdigit():  # a price or a number never spells a term
            word = word.translate(_LEET)
        found.update((term, None) for term in wanted if term in word)
    return list(found)


def reasons(description: str, terms: tuple[str, ...], repeat_run: int,
            sequence_run: int, allow: tuple[str, ...] = ()) -> list[str]:
    """Why ``description`` is suspicious (empty when it is not), e.g. ``["term:kumar"]``."""
    words = _WORD.findall(fold(description))
    found = [f"term:{term}" for term in betting_terms(description, terms, allow)]
    for word in words:
        if _repeats(word, repeat_run):
            found.append(f"repeated:{word}")
        elif _sequence(word, sequence_run):
            found.append(f"sequence:{word}")
    return found


def _repeats(word: str, run: int) -> bool:
    if word.isdigit():
        return len(word) >= run and len(set(word)) == 1
    return re.search(rf"([a-z])\1{{{run - 1},}}", word) is not None


def _sequence(word: str, run: int) -> bool:
    keys = _ROWS + tuple(row[::-1] for row in _ROWS)
    return any(word[i:i + run] in row for i in range(len(word) - run + 1) for row in keys)


@scenario("suspicious_description")
def suspicious_description(activity: Activity, policy: Policy,
                           now: datetime) -> tuple[ScenarioHit, ...]:
    """One hit per local day listing that day's transactions with a suspicious description."""
    code, params = "suspicious_description", policy.monitoring.params
    terms, allow = params["description_terms"], params.get("description_allow", ())
    repeat, sequence = params["description_repeat_run"], params["description_sequence_run"]
    days = recent_days(activity.transactions, now, policy)
    if not any(t.description for rows in days.values() for t in rows):
        return Insufficient("no transaction of the previous or current local day has a "
                            "description")
    hits = []
    for day, day_transactions in sorted(days.items()):
        flagged = [(t, why) for t in day_transactions if t.description
                   and (why := reasons(t.description, terms, repeat, sequence, allow))]
        if flagged:
            hits.append(_hit(policy, code, day, flagged))
    return tuple(hits)


def _hit(policy: Policy, code: str, day: object,
         flagged: list[tuple[MonitoredTransaction, list[str]]]) -> ScenarioHit:
    first, why = flagged[0]
    summary = says("%(count)s transaction(s) on %(day)s carry suspicious descriptions, e.g. "
                   "\"%(example)s\" (%(reasons)s).", count=len(flagged), day=day,
                   example=(first.description or "")[:60], reasons=", ".join(why))
    evidence = {"day": day, "transactions": [
        {"transaction_id": t.transaction_id, "description": t.description, "reasons": r,
         "occurred_at": t.occurred_at} for t, r in flagged[:50]], "count": len(flagged)}
    return hit(code, severity(policy, code, "high"), subject="merchant", summary=summary,
               period=str(day), evidence=evidence, occurred_at=earliest(t for t, _ in flagged))
