"""The console's messages as Babel extracts them from given files (or from every file
``babel.cfg`` maps), and those without a Turkish translation in the catalogue: one helper for
every translation test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "app/translations/tr/LC_MESSAGES/messages.po"
CFG = ROOT / "app/translations/babel.cfg"
# ``says`` writes a check's explanation (checks/wording.py).
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "says": None}


def catalogue() -> Catalog:
    """The Turkish catalogue."""
    with PO.open("rb") as handle:
        return read_po(handle, locale="tr")


def extracted(files: Mapping[str, Sequence[str]]) -> set[str]:
    """Every message of ``files`` (``{"python": [...], "jinja2": [...]}``, repo-relative)."""
    return {message if isinstance(message, str) else message[0]
            for method, paths in files.items() for path in paths
            for _line, message, _comments, _context in extract_from_file(
                method, str(ROOT / path), keywords=KEYWORDS)}


def extracted_everywhere() -> dict[str, set[str]]:
    """Every message of every file ``babel.cfg`` maps, by the repo-relative file it is in."""
    with CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, set[str]] = {}
    for path, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        text = message if isinstance(message, str) else message[0]
        found.setdefault(path, set()).add(text)
    return found


def untranslated(messages: set[str]) -> list[str]:
    """The ``messages`` with no Turkish text in the catalogue, sorted."""
    tr = catalogue()
    return sorted(m for m in messages
                  if tr.get(m) is None or not tr.get(m).string or tr.get(m).fuzzy)
