"""What a release does to the schema, per dialect, read from its ``upgrade.sql``: tables, columns,
indexes and views added, changed and dropped (``distill diff`` of consecutive releases shows it).

Statements are split at ``;`` by the dialect's lexer and normalised as findings are
(``statements.findings.normalise``); a table SQLite's batch mode copies and renames back is
"changed", not dropped and added."""

from __future__ import annotations

import re
from typing import Any

from .. import dialects
from ..statements.findings import normalise
from ..statements.lexer import PUNCT, tokenize

_RULES = (  # (category, pattern on the normalised statement); the first that matches counts
    ("tables recreated", re.compile(r"^ALTER TABLE _alembic_tmp_(?P<name>\S+) RENAME TO ", re.I)),
    ("tables added", re.compile(r"^CREATE TABLE (?:IF NOT EXISTS )?(?P<name>\S+)", re.I)),
    ("tables dropped", re.compile(r"^DROP TABLE (?:IF EXISTS )?(?P<name>\S+)", re.I)),
    ("columns added", re.compile(r"^ALTER TABLE (?P<table>\S+) ADD (?:COLUMN )?(?!CONSTRAINT |INDEX |KEY "
                                 r"|FOREIGN |PRIMARY |CHECK |UNIQUE )(?P<name>[^\s,]+)", re.I)),
    ("columns dropped", re.compile(r"^ALTER TABLE (?P<table>\S+) DROP (?:COLUMN )?(?!CONSTRAINT "
                                   r"|INDEX |KEY |FOREIGN |PRIMARY |CHECK |DEFAULT |UNIQUE )"
                                   r"(?P<name>[^\s,]+)", re.I)),
    ("columns changed", re.compile(r"^ALTER TABLE (?P<table>\S+) (?:ALTER (?:COLUMN )?|MODIFY (?:COLUMN )?|"
                                   r"CHANGE (?:COLUMN )?)(?P<name>[^\s,]+)", re.I)),
    ("indexes added", re.compile(
        r"^CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(?P<name>\S+)", re.I)),
    ("indexes dropped", re.compile(r"^DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?(?P<name>[^\s;]+)", re.I)),
    ("views added or replaced", re.compile(r"^CREATE (?:OR REPLACE )?VIEW (?P<name>\S+)", re.I)),
    ("views dropped", re.compile(r"^DROP VIEW (?:IF EXISTS )?(?P<name>\S+)", re.I)),
)
CATEGORIES = tuple(category for category, _ in _RULES)


def _statements(text: str, dialect) -> list[str]:
    """The file's statements: split at ``;`` and at batch separator lines (GO, /), each without
    the client lines before it (SET DEFINE OFF ...), which the client reads, not the server."""
    client = {dialect.batch_separator, *dialect.guard.stop_on_error, *dialect.preamble}
    pieces, current = [], []
    for kind, piece in tokenize(text, dialect.lexer):
        if kind == PUNCT and piece == ";":
            pieces.append("".join(current))
            current = []
        else:
            current.append(piece)
    separator = re.compile(rf"^[ \t]*{re.escape(dialect.batch_separator)}[ \t]*$", re.M) \
        if dialect.batch_separator else None
    if separator is not None:  # a line holding only GO or / ends a statement too
        pieces = [part for piece in pieces for part in separator.split(piece)]
    out = []
    for piece in pieces:
        lines = piece.strip().splitlines()
        while lines and (lines[0].strip() in client or lines[0].lstrip().startswith("--")
                         or not lines[0].strip()):
            lines.pop(0)
        if lines:
            out.append("\n".join(lines))
    return out


def summary(upgrade_sql: str, dialect_name: str,
            ignored_tables: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Each category with the names it holds (sorted, each once); empty categories left out."""
    dialect = dialects.get(dialect_name)
    ignored = {t.lower() for t in ignored_tables}
    found: dict[str, set[str]] = {}
    for statement in _statements(upgrade_sql, dialect):
        full, _ = normalise(statement, dialect)
        for category, pattern in _RULES:
            match = pattern.match(full)
            if match:
                table = match.groupdict().get("table")
                name = f"{table}.{match['name']}" if table else match["name"]
                if (table or name).lower() not in ignored and not name.startswith("_alembic_tmp_"):
                    found.setdefault(category, set()).add(name)
                break
    recreated = found.pop("tables recreated", set())
    if recreated:  # batch mode: copied, dropped and renamed back
        found["tables dropped"] = found.get("tables dropped", set()) - recreated
        found["tables recreated (batch mode)"] = recreated
    return {category: sorted(names) for category, names in sorted(found.items()) if names}


def release_summaries(manifest: dict[str, Any], files: dict[str, bytes],
                      ignored_tables: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    """Per dialect of a bundle, the summary of its upgrade.sql."""
    out = {}
    for name in sorted(manifest.get("dialects", {})):
        text = files.get(f"{name}/upgrade.sql", b"").decode("utf-8", "replace")
        if name in dialects.available():
            out[name] = summary(text, name, ignored_tables)
    return out
