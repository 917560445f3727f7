"""Which application tables a statement reads: what makes a step's SQL depend on the rows."""

from __future__ import annotations

import re

from ..dialects import Dialect

_NAME = r'(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][\w$]*)'
_FROM = re.compile(rf"\b(?:FROM|JOIN)\s+({_NAME}(?:\s*\.\s*{_NAME})?)", re.I)


def _plain(name: str) -> str:
    return ".".join(part.strip().strip('"`[]') for part in name.split("."))


def tables_read(sql: str, dialect: Dialect, version_table: str) -> set[str]:
    """The tables after FROM / JOIN in ``sql``, apart from the dialect's catalog (schema
    introspection reads no rows) and the version table."""
    catalog = re.compile(dialect.shadow.catalog_tables) if dialect.shadow.catalog_tables else None
    found = set()
    for match in _FROM.finditer(sql):
        name = _plain(match[1])
        if catalog is not None and catalog.fullmatch(name.lower()):
            continue
        if name.split(".")[-1] == version_table:
            continue
        found.add(name)
    return found
