"""Which application tables a statement reads: what makes a step's SQL depend on the rows."""

from __future__ import annotations

import re

from ..dialects import Dialect
from ..statements.reads import names_after_from


def tables_read(sql: str, dialect: Dialect, version_table: str) -> set[str]:
    """The tables after FROM / JOIN in ``sql`` (not the names its WITH clauses define), apart
    from the dialect's catalog (schema introspection reads no rows) and the version table."""
    catalog = re.compile(dialect.shadow.catalog_tables) if dialect.shadow.catalog_tables else None
    found = set()
    for name in names_after_from(sql, dialect):
        if catalog is not None and catalog.fullmatch(name.lower()):
            continue
        if name.split(".")[-1] == version_table:
            continue
        found.add(name)
    return found
