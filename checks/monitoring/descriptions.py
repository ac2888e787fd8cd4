"""``suspicious_description``: gibberish, repeated characters or betting words in transaction
descriptions (R-C10: "asdfg", "1111", "kumar", "bhs", "bet", "kacak").

Text is folded the Turkish way first (``İ``→``i``, ``I``→``ı``; Python's ``lower()`` would
turn ``I`` into ``i`` and ``İ`` into ``i`` plus a combining dot), then to ASCII (``ç``→``c``,
``ğ``→``g``, ``ı``→``i``, ``ö``→``o``, ``ş``→``s``, ``ü``→``u``), so ``KAÇAK``, ``kaçak`` and
``KACAK`` all read ``kacak``. Terms match whole words only. A run of one repeated letter
counts anywhere in a word; a run of one repeated digit only as a whole word (``1111``), so
``10000 TL`` is fine.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from checks.monitoring.model import Activity, MonitoredTransaction, ScenarioHit, hit
from checks.monitoring.registry import scenario
from checks.monitoring.windows import recent_days, severity
from checks.policy import Policy

_TR_ASCII = str.maketrans({"ç": "c", "ğ": "g", "ı": "i", "ö": "o", "ş": "s", "ü": "u",
                           "â": "a", "î": "i", "û": "u"})
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz")
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """``text`` lower-cased the Turkish way and reduced to ASCII letters where it can be."""
    lowered = text.replace("İ", "i").replace("I", "ı").lower().translate(_TR_ASCII)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def reasons(description: str, terms: tuple[str, ...], repeat_run: int,
            sequence_run: int) -> list[str]:
    """Why ``description`` is suspicious (empty when it is not), e.g. ``["term:kumar"]``."""
    words = _WORD.findall(fold(description))
    found = [f"term:{term}" for term in dict.fromkeys(fold(t) for t in terms) if term in words]
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
    terms = params["description_terms"]
    repeat, sequence = params["description_repeat_run"], params["description_sequence_run"]
    hits = []
    for day, day_transactions in sorted(recent_days(activity.transactions, now, policy).items()):
        flagged = [(t, why) for t in day_transactions if t.description
                   and (why := reasons(t.description, terms, repeat, sequence))]
        if flagged:
            hits.append(_hit(policy, code, day, flagged))
    return tuple(hits)


def _hit(policy: Policy, code: str, day: object,
         flagged: list[tuple[MonitoredTransaction, list[str]]]) -> ScenarioHit:
    first, why = flagged[0]
    summary = (f"{len(flagged)} transaction(s) on {day} carry suspicious descriptions, e.g. "
               f"\"{(first.description or '')[:60]}\" ({', '.join(why)}).")
    evidence = {"day": day, "transactions": [
        {"transaction_id": t.transaction_id, "description": t.description, "reasons": r,
         "occurred_at": t.occurred_at} for t, r in flagged[:50]], "count": len(flagged)}
    return hit(code, severity(policy, code, "high"), subject="merchant", summary=summary,
               period=str(day), evidence=evidence)
