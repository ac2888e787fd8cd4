"""The common shape every sanctions or PEP list is parsed into.

Parsers for OFAC, the UN consolidated list and OpenSanctions produce ``ListEntry`` values; the
application stores them (``to_dict``) and rebuilds a ``ScreeningIndex`` from the stored dicts, so
this module is the only contract between the list files, the database and the matcher.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

KINDS = ("sanctions", "pep")
PERSON_TYPES = frozenset({"individual"})

_TUPLE_FIELDS = (
    "aliases",
    "weak_aliases",
    "birth_dates",
    "nationalities",
    "countries",
    "programs",
    "identifiers",
)


def identifier_key(value: str) -> str:
    """An identifier compared by its letters and digits only: 'A-123 456' → 'A123456'."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


class ListFormatError(ValueError):
    """A list file could not be read or does not have the expected layout.

    The message always names the file and, where known, the line or element at fault.
    """


@dataclass(frozen=True)
class ListEntry:
    """One designated person, entity, vessel or aircraft as a list publishes it.

    ``birth_dates`` hold ISO dates (``1960-01-31``), year-months (``1960-01``) or years
    (``1960``). ``nationalities`` and ``countries`` are ISO 3166 alpha-2 codes. ``weak_aliases``
    are the names a list itself marks as low quality (UN "Low", OFAC nick-names in remarks,
    FtM ``weakAlias``); the matcher demands a near-exact score for them.
    """

    entry_id: str
    kind: str
    list_name: str
    entry_type: str
    primary_name: str
    aliases: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    remarks: str = ""
    weak_aliases: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()  # passport, national id, tax id… as ``identifier_key``s
    positions: tuple[str, ...] = ()  # a PEP's positions (FtM ``position``), R-D2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if not self.primary_name.strip():
            raise ValueError(f"entry {self.entry_id!r} has no name")

    @property
    def is_person(self) -> bool:
        """True for natural persons (their names are never stripped of company words)."""
        return self.entry_type in PERSON_TYPES

    def names(self) -> tuple[tuple[str, bool], ...]:
        """Every name to screen against, primary first, each with a flag ``weak``."""
        seen: set[str] = set()
        out: list[tuple[str, bool]] = []
        strong = (self.primary_name, *self.aliases)
        for name, weak in [*((n, False) for n in strong), *((n, True) for n in self.weak_aliases)]:
            if name and name not in seen:
                seen.add(name)
                out.append((name, weak))
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict`` gives back an equal entry."""
        data: dict[str, Any] = {
            "entry_id": self.entry_id,
            "kind": self.kind,
            "list_name": self.list_name,
            "entry_type": self.entry_type,
            "primary_name": self.primary_name,
            "remarks": self.remarks,
        }
        for name in _TUPLE_FIELDS:
            data[name] = list(getattr(self, name))
        if self.positions:  # only PEP entries carry it; others keep their stored form
            data["positions"] = list(self.positions)
        return data

    def digest(self) -> str:
        """SHA-256 of the entry's data: a "not this person" decision lapses when it changes."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListEntry:
        """Rebuild an entry from ``to_dict`` output (lists or tuples accepted; extras ignored)."""
        values = {name: tuple(data.get(name) or ()) for name in _TUPLE_FIELDS}
        return cls(
            entry_id=str(data["entry_id"]),
            kind=data["kind"],
            list_name=data["list_name"],
            entry_type=data["entry_type"],
            primary_name=data["primary_name"],
            remarks=data.get("remarks") or "",
            positions=tuple(data.get("positions") or ()),
            **values,
        )


@dataclass(frozen=True)
class LoadedList:
    """The result of loading one list: its entries plus what an operator needs to trust them.

    ``version`` is the publication timestamp when the format carries one (UN ``dateGenerated``),
    otherwise ``sha256:<hex>`` of the files' bytes. ``counts`` gives entries per ``entry_type``
    (and ``aliases``); ``warnings`` lists rows that were skipped or could not be linked.
    """

    list_name: str
    version: str
    format: str
    entries: tuple[ListEntry, ...]
    counts: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
