"""Sanctions and PEP screening (R-D2): list parsers, name normalisation and the fuzzy matcher.

Pure code: no Flask, no database. The application loads list files with ``load_list``, stores
``ListEntry.to_dict()`` rows, and rebuilds a ``ScreeningIndex`` from them; checks call
``ScreeningIndex.screen`` and receive ``checks.facts.ScreeningHit`` values.

``ScreeningIndex`` is matcher 2 (``matcher.py`` on ``names.py``: rigour normalisation, phonetic
blocking, token similarities from ``similarity.py``, identifiers from ``identifiers.py``, per-hit
explanations from ``explain.py``); ``matcher_v1`` keeps the matcher policy 2026.11.1 was
calibrated on, for the quality bench's baseline.
"""

from checks.screening.entries import ListEntry, ListFormatError, LoadedList
from checks.screening.loader import detect_format, load_list
from checks.screening.matcher import ScreeningIndex
from checks.screening.normalize import NormalName, normalize_name

__all__ = [
    "ListEntry",
    "ListFormatError",
    "LoadedList",
    "NormalName",
    "ScreeningIndex",
    "detect_format",
    "load_list",
    "normalize_name",
]
