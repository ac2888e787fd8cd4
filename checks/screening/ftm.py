"""Parser for OpenSanctions FollowTheMoney entities in JSON lines (one entity per line).

Sanctions and PEP exports share this format; an entity's kind comes from its ``topics``
(``sanction*`` → sanctions, ``role.pep``/``role.rca`` → pep) unless the caller names the kind
for the whole file. Only "thing" schemas (people, companies, vessels, aircraft…) become entries;
relationship records (Sanction, Ownership, Address…) in full exports are counted and skipped.
The file is read line by line, so a multi-gigabyte export never sits in memory as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from checks.screening.countries import country_code
from checks.screening.entries import ListEntry, ListFormatError, identifier_key

SCHEMA_TYPES = {
    "Person": "individual",
    "Company": "entity",
    "Organization": "entity",
    "LegalEntity": "entity",
    "PublicBody": "entity",
    "Vessel": "vessel",
    "Airplane": "aircraft",
}
_PEP_TOPICS = ("role.pep", "role.rca")

_IDENTIFIER_PROPS = ("passportNumber", "idNumber", "taxNumber", "registrationNumber",
                     "innCode", "ogrnCode", "vatCode", "leiCode", "imoNumber", "swiftBic")

def kind_from_topics(topics: list[str]) -> str | None:
    """'sanctions' for any sanction topic, 'pep' for PEP/RCA roles, else ``None``."""
    if any(t == "sanction" or t.startswith("sanction.") for t in topics):
        return "sanctions"
    if any(t in _PEP_TOPICS for t in topics):
        return "pep"
    return None


def read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, entity)`` per non-blank line; a bad line raises naming its number."""
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise ListFormatError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ListFormatError(
                        f"{path.name} line {number}: invalid JSON ({exc.msg})"
                    ) from exc
                if not isinstance(data, dict) or "schema" not in data or "id" not in data:
                    raise ListFormatError(
                        f"{path.name} line {number}: not an FtM entity (needs id and schema)"
                    )
                yield number, data
        except UnicodeDecodeError as exc:
            raise ListFormatError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc


def parse_ftm(path: Path, kind: str | None, list_name: str) -> tuple[list[ListEntry], list[str]]:
    """Entries and warnings from one FtM JSON-lines file."""
    entries: list[ListEntry] = []
    warnings: list[str] = []
    skipped: dict[str, int] = {}
    for number, data in read_lines(path):
        entry_type = SCHEMA_TYPES.get(data["schema"])
        if entry_type is None:
            skipped[data["schema"]] = skipped.get(data["schema"], 0) + 1
            continue
        props = data.get("properties") or {}
        if not isinstance(props, dict):
            raise ListFormatError(f"{path.name} line {number}: properties must be an object")
        entry_kind = kind or kind_from_topics(_values(props, "topics"))
        names = _values(props, "name")
        if entry_kind is None or not names:
            why = "no name" if not names else "no sanction or PEP topic"
            warnings.append(f"{path.name} line {number}: {data['id']} skipped ({why})")
            continue
        entries.append(_entry(data, props, entry_type, entry_kind, list_name, names))
    warnings.extend(
        f"{path.name}: {count} {schema} record(s) are not screenable and were skipped"
        for schema, count in sorted(skipped.items())
    )
    return entries, warnings


def _values(props: dict[str, Any], key: str) -> list[str]:
    raw = props.get(key) or []
    if isinstance(raw, str):
        raw = [raw]
    return [str(v).strip() for v in raw if str(v).strip()]


def _codes(props: dict[str, Any], *keys: str) -> tuple[str, ...]:
    codes = (country_code(v) for key in keys for v in _values(props, key))
    return tuple(dict.fromkeys(c for c in codes if c))


def _entry(
    data: dict[str, Any],
    props: dict[str, Any],
    entry_type: str,
    kind: str,
    list_name: str,
    names: list[str],
) -> ListEntry:
    primary = data.get("caption") if data.get("caption") in names else names[0]
    aliases = [*names, *_values(props, "alias"), *_values(props, "previousName")]
    programs = _values(props, "program") or _values(props, "programId")
    return ListEntry(
        entry_id=str(data["id"]),
        kind=kind,
        list_name=list_name,
        entry_type=entry_type,
        primary_name=primary,
        aliases=tuple(dict.fromkeys(a for a in aliases if a != primary)),
        weak_aliases=tuple(dict.fromkeys(_values(props, "weakAlias"))),
        birth_dates=tuple(dict.fromkeys(d[:10] for d in _values(props, "birthDate"))),
        nationalities=_codes(props, "nationality", "citizenship"),
        countries=_codes(props, "country", "jurisdiction"),
        programs=tuple(dict.fromkeys(programs or data.get("datasets") or ())),
        remarks=" ".join(_values(props, "notes")),
        positions=tuple(dict.fromkeys(_values(props, "position"))) if kind == "pep" else (),
        identifiers=tuple(dict.fromkeys(
            key for key in (identifier_key(v) for prop in _IDENTIFIER_PROPS
                            for v in _values(props, prop)) if len(key) >= 4)),
    )
