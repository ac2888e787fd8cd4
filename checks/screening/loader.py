"""Recognise a sanctions/PEP list's format from its files and load it into ``ListEntry`` values.

Accepted: the OFAC legacy CSV set (sdn/alt/add, optional sdn_comments; any order, recognised by
file name or, failing that, by column count), one UN consolidated XML file, or one OpenSanctions
FollowTheMoney ``.jsonl`` file. The list version is the UN ``dateGenerated`` when present,
otherwise ``sha256:`` of the files' bytes in a canonical order, so the same files always give the
same version whatever order they were passed in.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from checks.screening import ofac, un
from checks.screening.entries import ListEntry, ListFormatError, LoadedList
from checks.screening.ftm import parse_ftm

FORMATS = ("ofac_csv", "un_xml", "ftm_jsonl")
_OFAC_ROLE_ORDER = ("sdn", "alt", "add", "comments")


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise ListFormatError(f"{path.name}: cannot read file ({exc.strerror})") from exc


def _format_of(path: Path) -> str:
    head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = path.suffix.lower()
    if head.startswith(b"<") or suffix == ".xml":
        if b"CONSOLIDATED_LIST" in head or b"<!DOCTYPE" in head.upper():
            return "un_xml"
        raise ListFormatError(f"{path.name}: XML but not a UN consolidated list")
    if head.startswith(b"{") or suffix in (".jsonl", ".ndjson", ".json"):
        return "ftm_jsonl"
    if suffix in (".csv", ".txt", ".del", "") and head[:1].isdigit():
        return "ofac_csv"
    raise ListFormatError(
        f"{path.name}: not a recognised list format (OFAC CSV, UN XML, FtM JSONL)"
    )


def detect_format(paths: Iterable[str | Path]) -> str:
    """The single format shared by ``paths``: 'ofac_csv', 'un_xml' or 'ftm_jsonl'."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ListFormatError("no list files given")
    found = {p.name: _format_of(p) for p in paths}
    formats = set(found.values())
    if len(formats) > 1:
        raise ListFormatError(f"files mix list formats: {found}")
    fmt = formats.pop()
    if fmt != "ofac_csv" and len(paths) > 1:
        raise ListFormatError(f"{fmt} is one file; got {len(paths)}: {sorted(found)}")
    return fmt


def ofac_role(path: Path) -> str:
    """'sdn', 'alt', 'add' or 'comments' for an OFAC file, from its name or its column count."""
    stem = path.stem.lower()
    for role in ("comments", "alt", "add", "sdn"):
        if role in stem:
            return role
    first_line = _head(path).decode("utf-8", errors="replace").splitlines()[:1]
    columns = len(next(csv.reader(io.StringIO(first_line[0])), [])) if first_line else 0
    for role, count in ofac.COLUMNS.items():
        if count == columns:
            return role
    raise ListFormatError(f"{path.name}: cannot tell which OFAC file this is ({columns} columns)")


def _ofac_files(paths: list[Path]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in paths:
        role = ofac_role(path)
        if role in files:
            raise ListFormatError(f"two OFAC {role} files: {files[role].name} and {path.name}")
        files[role] = path
    return files


def file_digest(paths: Iterable[Path]) -> str:
    """``sha256:<hex>`` over the files' bytes in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def load_list(
    paths: Iterable[str | Path] | str | Path, kind: str | None = None, list_name: str | None = None
) -> LoadedList:
    """Load one list from its files; ``kind`` overrides the kind of every entry ('sanctions'|'pep').

    OFAC and UN lists are always sanctions lists. For FtM files without ``kind`` each entity's kind
    comes from its topics. Raises ``ListFormatError`` naming the file and line or element at fault.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    paths = [Path(p) for p in paths]
    fmt = detect_format(paths)
    if kind is not None and kind not in ("sanctions", "pep"):
        raise ValueError(f"kind must be 'sanctions' or 'pep', not {kind!r}")
    if fmt == "ofac_csv":
        files = _ofac_files(paths)
        entries, warnings = ofac.parse_ofac(files)
        version = file_digest(files[r] for r in _OFAC_ROLE_ORDER if r in files)
        default_name = ofac.LIST_NAME
    elif fmt == "un_xml":
        entries, generated, warnings = un.parse_un(paths[0])
        version = generated or file_digest(paths)
        default_name = un.LIST_NAME
    else:
        name = list_name or ("OpenSanctions PEP" if kind == "pep" else "OpenSanctions")
        entries, warnings = parse_ftm(paths[0], kind, name)
        version = file_digest(paths)
        default_name = name
    return _finish(entries, kind, list_name or default_name, version, fmt, warnings)


def _finish(
    entries: list[ListEntry],
    kind: str | None,
    list_name: str,
    version: str,
    fmt: str,
    warnings: list[str],
) -> LoadedList:
    renamed = [
        ListEntry.from_dict({**e.to_dict(), "list_name": list_name, "kind": kind or e.kind})
        if (e.list_name != list_name or (kind and e.kind != kind))
        else e
        for e in entries
    ]
    ids = Counter(e.entry_id for e in renamed)
    duplicates = sorted(i for i, n in ids.items() if n > 1)
    if duplicates:
        warnings = [*warnings, f"duplicate entry ids: {', '.join(duplicates[:10])}"]
    counts = Counter(e.entry_type for e in renamed)
    counts["entries"] = len(renamed)
    counts["aliases"] = sum(len(e.aliases) + len(e.weak_aliases) for e in renamed)
    return LoadedList(
        list_name=list_name,
        version=version,
        format=fmt,
        entries=tuple(renamed),
        counts=dict(counts),
        warnings=tuple(warnings),
    )
