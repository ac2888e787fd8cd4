"""api_keys is pure logic: it never imports the web framework, the database or the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import api_keys

FORBIDDEN = ("flask", "sqlalchemy", "sqlmodel", "app", "redis", "psycopg", "httpx", "requests")
SOURCES = sorted(Path(api_keys.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_module_imports_nothing_forbidden(path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & set(FORBIDDEN)
