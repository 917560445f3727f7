"""Which Alembic and SQLAlchemy run here, and the branches distill takes where they differ.

Supported: Alembic 1.13 to 1.20, SQLAlchemy 1.4 and 2.0/2.1 (``SUPPORTED``). Each difference
between versions that distill depends on is one named function here, tested on the CI corners
(Alembic 1.13 + SQLAlchemy 1.4, Alembic 1.16 + SQLAlchemy 2.0, the pinned newest).
"""

from __future__ import annotations

import re
from typing import Any

import alembic
import sqlalchemy
from alembic.config import Config
from sqlalchemy.schema import DropTable


def _parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


ALEMBIC = _parse(alembic.__version__)
SQLALCHEMY = _parse(sqlalchemy.__version__)
# (lowest, first not supported) per library: what the CI corners test
SUPPORTED = {"alembic": ((1, 13), (1, 21)), "sqlalchemy": ((1, 4), (2, 2))}
TOML_CONFIG = ALEMBIC >= (1, 16)  # [tool.alembic] in pyproject.toml


def alembic_config(ini_file: str | None, toml_file: str | None) -> Config:
    """Alembic's Config from alembic.ini and/or pyproject.toml's [tool.alembic]."""
    if TOML_CONFIG:
        return Config(file_=ini_file, toml_file=toml_file)
    return Config(file_=ini_file)


def untested() -> list[str]:
    """``name version`` of each library outside the tested range."""
    found = []
    for name, version in (("alembic", alembic.__version__), ("sqlalchemy", sqlalchemy.__version__)):
        low, high = SUPPORTED[name]
        if not low <= _parse(version)[:2] < high:
            found.append(f"{name} {version}")
    return found


def tested_range() -> str:
    return "Alembic 1.13 to 1.20 and SQLAlchemy 1.4, 2.0 or 2.1"


def autoincrement_column(table: Any) -> Any:
    """The table's autoincrement column, or None (SQLAlchemy 1.4 has it as a private attribute)."""
    if SQLALCHEMY >= (2, 0):
        return table.autoincrement_column
    return table._autoincrement_column


def standard_strings(dialect: Any) -> None:
    """SQLAlchemy 1.4's PostgreSQL dialect doubles backslashes in literals until a connection
    says standard_conforming_strings is on (the default since PostgreSQL 9.1); offline there is
    none, so ``'C:\\x'`` would arrive as ``C:\\\\x``. Say it is on, as SQLAlchemy 2 assumes."""
    if dialect.name == "postgresql" and getattr(dialect, "_backslash_escapes", False):
        dialect._backslash_escapes = False  # (MySQL's backslash escapes are real: kept)


def version_table_kept(migration_context: Any) -> None:
    """Alembic < 1.19 ends an offline downgrade to base with DROP TABLE of the version table;
    online it keeps the (empty) table, and so does 1.19 offline. Keep it: the SQL does what
    online Alembic does."""
    if ALEMBIC >= (1, 19):
        return
    connection = migration_context.connection
    execute = connection.execute

    def without_version_drop(construct: Any, *args: Any, **kw: Any) -> Any:
        if drops_the_version_table(construct, migration_context):
            return None
        return execute(construct, *args, **kw)

    connection.execute = without_version_drop


def drops_the_version_table(construct: Any, migration_context: Any) -> bool:
    """Whether ``construct`` is the DROP TABLE of the version table that Alembic < 1.19 sends at
    the end of an offline downgrade to base (against a shadow, through the shadow connection)."""
    return ALEMBIC < (1, 19) and isinstance(construct, DropTable) \
        and construct.element is migration_context._version


def comment_is_set(comment: Any) -> bool:
    """Whether ``create_table`` writes a table or column comment: Alembic 1.20.1 writes an empty
    one too (``is not None``), earlier versions only a non-empty one."""
    return comment is not None if ALEMBIC >= (1, 20, 1) else bool(comment)
