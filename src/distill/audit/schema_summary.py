"""What a release does to the schema, per dialect, read from its ``upgrade.sql``: tables, columns,
indexes, constraints and views added, changed, renamed and dropped (``distill diff`` of
consecutive releases shows it).

Statements are split at ``;`` by the dialect's lexer, normalised and read ALTER TABLE action by
action as findings are, with the statement forms of ``dialects/_common.toml`` ([grammar.forms]);
a table SQLite's batch mode copies and renames back is "changed", not dropped and added."""

from __future__ import annotations

import re
from typing import Any

from .. import dialects
from ..statements.actions import forms
from ..statements.findings import normalise
from ..statements.lexer import PUNCT, STRING, tokenize

_RULES = (  # (category, statement form of dialects/_common.toml); the first that matches counts
    ("tables recreated", "batch_rename"),
    ("tables renamed", "rename_table"),
    ("columns renamed", "rename_column"),
    ("columns renamed", "change_column_name"),
    ("constraints added", "add_constraint"),
    ("constraints dropped", "drop_constraint"),
    ("constraints dropped", "drop_check_or_foreign_key"),
    ("constraints dropped", "drop_primary_key"),
    ("indexes dropped", "drop_table_index"),
    ("tables added", "create_table"),
    ("tables dropped", "drop_table"),
    ("columns added", "add_column"),
    ("columns dropped", "drop_column"),
    ("columns changed", "change_column"),
    ("indexes added", "create_index"),
    ("indexes dropped", "drop_index"),
    ("views added or replaced", "create_view"),
    ("views dropped", "drop_view"),
)
CATEGORIES = tuple(dict.fromkeys(category for category, _ in _RULES))


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


def _category(form: str, dialect) -> tuple[str, str, str]:
    """(category, name, table) of one statement or ALTER TABLE action; ("", "", "") for none.
    A rename is named ``users.name -> full_name``, a constraint ``users.ck_age (CHECK)``."""
    for category, form_name in _RULES:
        match = dialect.form(form_name).match(form)
        if match:
            groups = match.groupdict()
            table, column, name = groups.get("table") or "", groups.get("column"), groups.get("name")
            label = f"{table}.{column}" if column else f"{table}.{name}" if name and table else name or table
            if groups.get("new"):
                label += f" -> {groups['new']}"
            if groups.get("kind"):
                label += f" ({groups['kind'].upper()})"
            return category, label, table
    return "", "", ""


def _with_literals(statement: str, dialect) -> str:
    """The statement as ``normalise`` gives it, but each string literal's text in place of the
    literal: a form that reads names from strings (SQL Server's sp_rename) matches this."""
    parts: list[str] = []
    for kind, piece in tokenize(statement, dialect.lexer):
        if kind == STRING and piece.endswith("'") and "'" in piece[:-1]:
            if parts and dialect.national_string_prefix and parts[-1] == dialect.national_string_prefix:
                parts.pop()  # N'...'
            parts.append(piece[piece.index("'") + 1:-1].replace("''", "'"))
        else:
            parts.append(piece)
    return normalise("".join(parts), dialect)[0]


def summary(upgrade_sql: str, dialect_name: str,
            ignored_tables: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Each category with the names it holds (sorted, each once); empty categories left out."""
    dialect = dialects.get(dialect_name)
    ignored = {t.lower() for t in ignored_tables}
    found: dict[str, set[str]] = {}
    for statement in _statements(upgrade_sql, dialect):
        for form, _ in forms(normalise(statement, dialect)[0], dialect.alter_actions):
            category, name, table = _category(form, dialect)
            if not category and "?" in form:
                category, name, table = _category(_with_literals(statement, dialect), dialect)
            if category and (table or name).lower() not in ignored and not name.startswith("_alembic_tmp_"):
                found.setdefault(category, set()).add(name)
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
