"""checks/ and api_keys/ stay pure: no Flask, database or application imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = {"flask", "sqlalchemy", "sqlmodel", "app", "flask_login", "flask_wtf", "alembic"}
SOURCES = sorted(
    path for package in ("checks", "api_keys") for path in (ROOT / package).rglob("*.py")
)


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_there_are_sources_to_scan():
    assert any(path.parts[-2:] == ("checks", "policy.py") for path in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_no_flask_database_or_app(path):
    assert not imported_roots(path) & FORBIDDEN
