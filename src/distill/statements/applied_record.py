"""The record of what was applied (``record_applied``): every file ends, after its last statement
and inside its transaction where it has one, with an INSERT into a table (``distill_applied`` by
default, created if absent) naming the bundle, the file, the direction, the revisions before and
after, the bundle's identity, the database user and the database's own time. The file itself
holds no time or host: bundles stay reproducible.

The SQL is each dialect's ``[record]`` (dialects/*.toml); the values written into it are checked
with full matches first, so nothing a configuration says can change the statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..dialects import Dialect
from ..errors import ConfigError
from ..names import one_line
from .model import COMMENT, SQL, Statement

DEFAULT_TABLE = "distill_applied"
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # lower case: PostgreSQL folds, others may not
_TEXT = re.compile(r"[A-Za-z0-9(][A-Za-z0-9 ._+:/()-]{0,199}")  # names and paths written as literals
_REVISIONS = re.compile(r"[A-Za-z0-9_]{1,64}(,[A-Za-z0-9_]{1,64})*|")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RecordTarget:
    """Where the record goes and what names the bundle in it."""

    table: str = DEFAULT_TABLE
    bundle: str = "?"  # the project
    release: str | None = None  # the bundle's release; None for `distill sql`
    bundle_sha256: str | None = None  # the bundle's identity (manifest.bundle_identity)


def check_record_table(name: str, where: str) -> str:
    if not isinstance(name, str) or not _TABLE.fullmatch(name):
        raise ConfigError(f"{where}: record_table must be a plain lower-case table name (a-z, 0-9 and _, "
                          f"at most 63, not starting with a digit), not {one_line(str(name))[:40]!r}")
    return name


def _writes_to(table: str) -> re.Pattern[str]:
    """A statement that creates, changes, renames into or writes rows of ``table`` (any schema,
    quoted or not, in any case)."""
    name = rf'(?:[`"\[]?[\w$]+[`"\]]?\s*\.\s*)?[`"\[]?{re.escape(table)}[`"\]]?(?![\w$])'
    verbs = (r"CREATE\s+(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE|DROP\s+TABLE|ALTER\s+TABLE|INSERT\s+INTO|"
             r"REPLACE\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|RENAME\s+TABLE")
    return re.compile(rf"^\s*(?:{verbs})\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?{name}"
                      rf"|\bRENAME\s+TO\s+{name}|^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\b.*?\bON\s+(?:ONLY\s+)?{name}",
                      re.I | re.S)


def refuse_a_history_table(table: str, steps: Sequence[Any],
                           step_statements: Callable[[int], list[Statement]]) -> None:
    """A ConfigError when a revision of ``steps`` creates, changes or writes ``table``: the
    record would then fail after the whole migration applied (or mix with application rows)."""
    writes = _writes_to(table)
    for index, step in enumerate(steps):
        for statement in step_statements(index):
            if statement.kind == SQL and writes.search(statement.text):
                raise ConfigError(
                    f"{step.script_path}: revision {step.revision} itself uses the table {table!r} that "
                    f"record_applied writes to ({one_line(statement.text)[:80]}): name another "
                    "record_table in [tool.distill]")


def _text(value: str, what: str) -> str:
    if not _TEXT.fullmatch(value):
        raise ConfigError(f"record_applied: the {what} {value[:60]!r} cannot be written into the record "
                          "(letters, digits, spaces and . _ + : / ( ) - only, at most 200)"
                          + ("; set a plainer project in [tool.distill]" if what == "project name" else ""))
    return value


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def supported(dialect: Dialect) -> bool:
    return bool(dialect.record.insert)


def record_statements(dialect: Dialect, target: RecordTarget, file: str, direction: str,
                      before: tuple[str, ...], after: tuple[str, ...]) -> list[Statement]:
    """The statements that create the record table if absent and add this file's row."""
    if not supported(dialect):
        raise ConfigError(f"record_applied is not supported for {dialect.title} yet")
    revisions = [",".join(sorted(r)) for r in (before, after)]
    if not all(_REVISIONS.fullmatch(r) for r in revisions):
        raise ConfigError(f"record_applied: revisions {revisions} cannot be written into the record")
    if target.bundle_sha256 is not None and not _SHA256.fullmatch(target.bundle_sha256):
        raise ConfigError("record_applied: the bundle's identity is not a SHA-256")
    values = {
        # quoted: a name that is a reserved word ("order") is still a name
        "table": dialect.quote_identifier(check_record_table(target.table, "record_applied")),
        "bundle": _literal(_text(target.bundle, "project name")),
        "release": _literal(None if target.release is None else _text(target.release, "release")),
        "file": _literal(_text(file, "file name")),
        "direction": _literal(direction),
        "from_revisions": _literal(revisions[0]),
        "to_revisions": _literal(revisions[1]),
        "bundle_sha256": _literal(target.bundle_sha256),
    }
    return [Statement(COMMENT, dialect.comment_line(f"record: this file as applied, in {target.table}")),
            Statement(SQL, dialect.record.create.format(**values)),
            Statement(SQL, dialect.record.insert.format(**values))]
