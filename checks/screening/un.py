"""Parser for the UN Security Council consolidated list (XML).

The file is read with ``iterparse`` and each INDIVIDUAL/ENTITY element is cleared once parsed, so
memory stays flat however large the list grows. DTDs and entity declarations are refused (billion
laughs, external entities): with ``defusedxml`` when installed, otherwise by rejecting any
``<!DOCTYPE`` before parsing.
"""

from __future__ import annotations

import xml.etree.ElementTree as StdET  # noqa: S405 - only ParseError and Element types; see _iterparse
from collections.abc import Iterator
from pathlib import Path

from checks.screening.countries import country_code
from checks.screening.entries import ListEntry, ListFormatError, identifier_key

try:  # pragma: no cover - exercised by whichever branch is installed
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse as _safe_iterparse
except ImportError:  # pragma: no cover
    DefusedXmlException = ValueError  # type: ignore[assignment,misc]
    _safe_iterparse = None

LIST_NAME = "UN Consolidated"
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_RECORDS = {"INDIVIDUAL": "individual", "ENTITY": "entity"}


def _iterparse(path: Path) -> Iterator[tuple[str, StdET.Element]]:
    if _safe_iterparse is not None:
        return _safe_iterparse(str(path), events=("start", "end"), forbid_dtd=True)
    with path.open("rb") as head:
        if b"<!DOCTYPE" in head.read(65536).upper():
            raise ListFormatError(f"{path.name}: DTDs are not accepted in list files")
    return StdET.iterparse(str(path), events=("start", "end"))  # noqa: S314 - DOCTYPE refused above


def parse_un(path: Path) -> tuple[list[ListEntry], str | None, list[str]]:
    """Entries, the list's ``dateGenerated`` (``None`` when absent) and warnings."""
    entries: list[ListEntry] = []
    warnings: list[str] = []
    generated: str | None = None
    position = 0
    try:
        for event, elem in _iterparse(path):
            if event == "start":
                if elem.tag == "CONSOLIDATED_LIST":
                    generated = elem.get("dateGenerated")
                continue
            if elem.tag in _RECORDS:
                position += 1
                entry = _record(elem, path.name, position)
                if entry is None:
                    warnings.append(f"{path.name}: {elem.tag} #{position} has no name, skipped")
                else:
                    entries.append(entry)
                elem.clear()
    except StdET.ParseError as exc:
        line, column = exc.position
        raise ListFormatError(
            f"{path.name} line {line} column {column}: malformed XML ({exc})"
        ) from exc
    except DefusedXmlException as exc:
        raise ListFormatError(f"{path.name}: refused unsafe XML ({exc})") from exc
    except OSError as exc:
        raise ListFormatError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    if generated is None and not entries:
        raise ListFormatError(f"{path.name}: not a UN consolidated list (no CONSOLIDATED_LIST)")
    return entries, generated, warnings


def _text(elem: StdET.Element | None) -> str:
    return " ".join((elem.text or "").split()) if elem is not None else ""


def _record(elem: StdET.Element, file_name: str, position: int) -> ListEntry | None:
    entry_type = _RECORDS[elem.tag]
    prefix = elem.tag
    name = " ".join(p for p in (_text(elem.find(tag)) for tag in _NAME_PARTS) if p)
    if not name:
        return None
    ref = _text(elem.find("REFERENCE_NUMBER")) or _text(elem.find("DATAID"))
    if not ref:
        raise ListFormatError(
            f"{file_name}: {elem.tag} #{position} ({name}) has neither REFERENCE_NUMBER nor DATAID"
        )
    strong, weak = _aliases(elem, prefix)
    original = _text(elem.find("NAME_ORIGINAL_SCRIPT"))
    if original:
        strong.append(original)
    countries = [country_code(_text(c)) for c in elem.iterfind(f"{prefix}_ADDRESS/COUNTRY")]
    return ListEntry(
        entry_id=ref,
        kind="sanctions",
        list_name=LIST_NAME,
        entry_type=entry_type,
        primary_name=name,
        aliases=tuple(dict.fromkeys(a for a in strong if a != name)),
        weak_aliases=tuple(dict.fromkeys(a for a in weak if a != name)),
        birth_dates=tuple(dict.fromkeys(_birth_dates(elem))),
        nationalities=tuple(
            dict.fromkeys(
                c for c in (country_code(_text(v)) for v in elem.iterfind("NATIONALITY/VALUE")) if c
            )
        ),
        countries=tuple(dict.fromkeys(c for c in countries if c)),
        programs=tuple(p for p in (_text(elem.find("UN_LIST_TYPE")),) if p),
        remarks=_text(elem.find("COMMENTS1")),
        identifiers=tuple(dict.fromkeys(
            key for key in (identifier_key(_text(n)) for n in elem.iterfind(
                f"{prefix}_DOCUMENT/NUMBER")) if len(key) >= 4)),
    )


def _aliases(elem: StdET.Element, prefix: str) -> tuple[list[str], list[str]]:
    strong: list[str] = []
    weak: list[str] = []
    for alias in elem.iterfind(f"{prefix}_ALIAS"):
        name = _text(alias.find("ALIAS_NAME"))
        if name:
            low = _text(alias.find("QUALITY")).lower() == "low"
            (weak if low else strong).append(name)
    return strong, weak


def _birth_dates(elem: StdET.Element) -> Iterator[str]:
    for dob in elem.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
        date, year = _text(dob.find("DATE")), _text(dob.find("YEAR"))
        low, high = _text(dob.find("FROM_YEAR")), _text(dob.find("TO_YEAR"))
        if date:
            yield date[:10]
        elif year:
            yield year
        elif low.isdigit() and high.isdigit() and 0 <= int(high) - int(low) <= 10:
            yield from (str(y) for y in range(int(low), int(high) + 1))
    for alias_dob in elem.iterfind("INDIVIDUAL_ALIAS/DATE_OF_BIRTH"):
        if _text(alias_dob):
            yield _text(alias_dob)[:10]
