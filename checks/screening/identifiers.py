"""Identifiers in screening (issue #12, R-D2): passport, national id, tax and registration
numbers that confirm or contradict a hit, and find an entry on their own.

A list entry's identifiers are kept as ``identifier_key``s ("A-123 456" → "A123456"). A subject's
identifier may be given in clear (a merchant's tax number) or only as a keyed hash (an owner's
national id is never stored in clear, R-D7): the application passes the hashing function it
stores national ids with, ``IdentifierIndex`` hashes every listed identifier with it once, and a
hashed subject identifier is compared hash to hash. Pure code: the function comes from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from checks.screening.entries import ListEntry, identifier_key

MIN_LENGTH = 4  # shorter keys ("12", "A1") identify nobody
IdentifierHash = Callable[[str], str]


@dataclass(frozen=True)
class SubjectIdentifiers:
    """What a screened subject is known by: ``clear`` keys and ``hashed`` national ids."""

    clear: frozenset[str] = frozenset()
    hashed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, clear: Iterable[str] = (), hashed: Iterable[str] = ()) -> SubjectIdentifiers:
        """Clear values reduced to ``identifier_key`` (short ones dropped); hashes as given."""
        keys = {identifier_key(value) for value in clear if value}
        return cls(frozenset(k for k in keys if len(k) >= MIN_LENGTH),
                   frozenset(h for h in hashed if h))

    def __bool__(self) -> bool:
        return bool(self.clear or self.hashed)


class IdentifierIndex:
    """Entry positions by identifier key and, when a hashing function is given, by its hash."""

    def __init__(self, entries: Sequence[ListEntry],
                 identifier_hash: IdentifierHash | None = None) -> None:
        self.hashing = identifier_hash is not None
        self._clear: dict[str, list[int]] = {}
        self._hashed: dict[str, list[int]] = {}
        self._hashes_of: dict[int, frozenset[str]] = {}
        for number, entry in enumerate(entries):
            for key in entry.identifiers:
                self._clear.setdefault(key, []).append(number)
            if identifier_hash is not None and entry.identifiers:
                hashes = frozenset(identifier_hash(key) for key in entry.identifiers)
                self._hashes_of[number] = hashes
                for digest in hashes:
                    self._hashed.setdefault(digest, []).append(number)

    def entries_sharing(self, subject: SubjectIdentifiers) -> set[int]:
        """Positions of the entries that carry one of the subject's identifiers."""
        found = {n for key in subject.clear for n in self._clear.get(key, ())}
        return found | {n for digest in subject.hashed for n in self._hashed.get(digest, ())}

    def evidence(self, subject: SubjectIdentifiers, number: int,
                 entry: ListEntry) -> tuple[bool | None, str]:
        """(``identifier_match``, the explanation's sentence) for entry ``number``: True when an
        identifier is shared, False when both sides have some and none is, else None."""
        shared_clear = sorted(subject.clear & set(entry.identifiers))
        if shared_clear:
            return True, f"identifier {shared_clear[0]} is on the list entry"
        if subject.hashed & self._hashes_of.get(number, frozenset()):
            return True, ("the owner's national id is on the list entry (compared as keyed "
                          "hashes; never in clear)")
        comparable = bool(subject.clear) or (bool(subject.hashed) and self.hashing)
        if not comparable or not entry.identifiers:
            return None, ""
        count = len(entry.identifiers)
        return False, (f"none of the subject's identifiers is among the entry's {count} "
                       f"identifier{'s' if count > 1 else ''}")
