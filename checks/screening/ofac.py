"""Parser for the OFAC SDN list in its legacy CSV layout (sdn.csv, alt.csv, add.csv).

The files have no header, write ``-0-`` for an empty field, end with a DOS EOF byte, and carry a
person's birth dates and nationalities only inside the free-text remarks ("DOB 01 Jan 1960;
nationality Iran"). Individuals are written "LAST, First"; entries are returned in natural order
("First LAST") because that is how merchants write their owners' names.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from checks.screening.countries import country_code
from checks.screening.entries import ListEntry, ListFormatError, identifier_key

LIST_NAME = "OFAC SDN"
COLUMNS = {"sdn": 12, "alt": 5, "add": 6, "comments": 2}
_TYPES = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft"}
_MONTHS = {
    m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)
}
_DATE = re.compile(r"^(?:(\d{1,2}) )?(?:([A-Za-z]{3}) )?(\d{4})$")
_AKA = re.compile(r"a\.k\.a\. '([^']+)'")


def _field(value: str) -> str:
    value = value.strip()
    return "" if value == "-0-" else value


def read_rows(path: Path, role: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` of one OFAC file, checking the column count of each row."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ListFormatError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    expected = COLUMNS[role]
    reader = csv.reader(text.splitlines())
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip("\x1a \t")):
            continue
        if len(row) != expected:
            raise ListFormatError(
                f"{path.name} line {line}: expected {expected} columns for OFAC {role}.csv, "
                f"found {len(row)}"
            )
        ent_num = row[0].strip()
        if not ent_num.isdigit():
            raise ListFormatError(f"{path.name} line {line}: ent_num {ent_num!r} is not a number")
        yield line, [_field(v) for v in row]


def natural_order(name: str) -> str:
    """'AL-MAJID, Ali Hassan' -> 'Ali Hassan AL-MAJID' (only the first comma separates)."""
    last, sep, first = name.partition(",")
    if not sep or not first.strip():
        return name.strip()
    return f"{first.replace(',', ' ').strip()} {last.strip()}"


def parse_dob(text: str) -> list[str]:
    """ISO dates/years from an OFAC DOB value: '01 Jan 1960', 'circa 1960', '1960 to 1962'."""
    text = text.strip().rstrip(".").removeprefix("circa ").strip()
    if " to " in text:
        start, _, end = text.partition(" to ")
        first, last = parse_dob(start), parse_dob(end)
        if first and last:
            low, high = int(first[0][:4]), int(last[0][:4])
            if 0 <= high - low <= 10:
                return [str(y) for y in range(low, high + 1)]
        return first + last
    match = _DATE.match(text)
    if not match:
        return []
    day, month, year = match.groups()
    month_num = _MONTHS.get((month or "").lower())
    if month and not month_num:
        return []
    if day and month_num:
        return [f"{year}-{month_num:02d}-{int(day):02d}"]
    return [f"{year}-{month_num:02d}"] if month_num else [year]


_IDENTIFIER = re.compile(
    r"(?:Passport|National ID No\.|Tax ID No\.|Identification Number|Registration Number|"
    r"Cedula No\.|NIT #|D\.N\.I\.|C\.U\.R\.P\. #|RFC|SSN|Personal ID Card|"
    r"National Foreign ID Number|Registration ID|Business Registration Number|"
    r"Government Gazette Number|Company Number|IMO|MMSI|Aircraft Manufacturer's Serial Number "
    r"\(MSN\)|Birth Certificate Number|Residency Number|Kenyan ID No\.|Stateless Person ID "
    r"Card|Travel Document Number|UK Company Number|Trade License No\.)\s+([A-Z0-9][A-Z0-9\-/.]*)"
)


def parse_identifiers(remarks: str) -> list[str]:
    """Passport, national id, tax and registration numbers from OFAC remarks (R-D2)."""
    keys = (identifier_key(m.group(1)) for m in _IDENTIFIER.finditer(remarks))
    return _unique([k for k in keys if len(k) >= 4])


def parse_remarks(remarks: str) -> tuple[list[str], list[str], list[str]]:
    """Birth dates, nationality codes and quoted nick-names (a.k.a. 'X') from remarks."""
    dobs: list[str] = []
    nationalities: list[str] = []
    for part in remarks.split(";"):
        part = part.strip().rstrip(".").removeprefix("alt. ").strip()
        if part.startswith("DOB "):
            dobs.extend(parse_dob(part[4:]))
        elif part.startswith(("nationality ", "citizen ")):
            code = country_code(part.split(" ", 1)[1])
            if code:
                nationalities.append(code)
    return _unique(dobs), _unique(nationalities), _unique(_AKA.findall(remarks))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def parse_ofac(files: dict[str, Path]) -> tuple[list[ListEntry], list[str]]:
    """Entries and warnings from the OFAC files keyed by role ('sdn', 'alt', 'add', 'comments')."""
    if "sdn" not in files:
        raise ListFormatError("OFAC list needs sdn.csv (the primary names file)")
    warnings: list[str] = []
    remarks_extra: dict[str, str] = {}
    if "comments" in files:
        for _, row in read_rows(files["comments"], "comments"):
            remarks_extra[row[0]] = remarks_extra.get(row[0], "") + row[1]
    aliases: dict[str, list[tuple[str, str]]] = {}
    if "alt" in files:
        for line, row in read_rows(files["alt"], "alt"):
            if not row[3]:
                warnings.append(f"{files['alt'].name} line {line}: alias without a name skipped")
                continue
            aliases.setdefault(row[0], []).append((row[3], row[2]))
    countries: dict[str, list[str]] = {}
    if "add" in files:
        for _, row in read_rows(files["add"], "add"):
            code = country_code(row[4])
            if code:
                countries.setdefault(row[0], []).append(code)
    entries = [
        _entry(
            row,
            aliases.pop(row[0], []),
            countries.pop(row[0], []),
            remarks_extra.get(row[0], ""),
            files["sdn"].name,
            line,
        )
        for line, row in read_rows(files["sdn"], "sdn")
    ]
    for ent_num in sorted(aliases, key=int):
        warnings.append(f"alt.csv: aliases of unknown ent_num {ent_num} skipped")
    return entries, warnings


def _entry(
    row: list[str],
    alts: list[tuple[str, str]],
    countries: list[str],
    remarks_extra: str,
    file_name: str,
    line: int,
) -> ListEntry:
    ent_num, name, sdn_type, program = row[0], row[1], row[2].lower(), row[3]
    if not name:
        raise ListFormatError(f"{file_name} line {line}: entry {ent_num} has no name")
    entry_type = _TYPES.get(sdn_type, "entity")
    person = entry_type == "individual"
    remarks = row[11] + remarks_extra
    dobs, nationalities, nick_names = parse_remarks(remarks)
    vessel_flag = country_code(row[9]) if row[9] else None
    strong = [natural_order(n) if person else n for n, _ in alts]
    return ListEntry(
        entry_id=ent_num,
        kind="sanctions",
        list_name=LIST_NAME,
        entry_type=entry_type,
        primary_name=natural_order(name) if person else name,
        aliases=tuple(_unique(strong)),
        weak_aliases=tuple(natural_order(n) if person else n for n in nick_names),
        birth_dates=tuple(dobs),
        nationalities=tuple(nationalities),
        countries=tuple(_unique(countries + ([vessel_flag] if vessel_flag else []))),
        programs=tuple(p.strip(" []") for p in program.split("] [") if p.strip(" []")),
        remarks=remarks,
        identifiers=tuple(parse_identifiers(remarks)),
    )
