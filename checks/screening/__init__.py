"""Sanctions and PEP screening (R-D2): list parsers, name normalisation and the fuzzy matcher.

Pure code: no Flask, no database. The application loads list files with ``load_list``, stores
``ListEntry.to_dict()`` rows, and rebuilds a ``ScreeningIndex`` from them; checks call
``ScreeningIndex.screen`` and receive ``checks.facts.ScreeningHit`` values.
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
