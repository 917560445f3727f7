"""Guards: SQL at the top of every file that stops it unless the database is at the expected
revision(s); and the statement that stops a downgrade at its point of no return.

The SQL itself is in each dialect's data file (``[guard]``); this module only fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dialects import Dialect
from .model import CHECK, GUARD, Statement, VersionTable


def _literal(text: str) -> str:
    return text.replace("'", "''")


def expected_text(revisions: tuple[str, ...], table: VersionTable) -> str:
    """What the guard says it expects: sorted revisions, or base."""
    return ",".join(sorted(revisions)) if revisions else f"base (no {table.name} table or an empty one)"


def _accepted(revisions: tuple[str, ...], table: VersionTable, dialect: Dialect) -> str:
    """The SQL list of what the guard may find: the revisions; from base, no table or an empty
    one (what online Alembic leaves after a downgrade to base)."""
    values = [",".join(sorted(revisions))] if revisions else [f"(no {table.name} table)", "(empty)"]
    prefix = dialect.national_string_prefix
    return ", ".join(f"{prefix}'{_literal(v)}'" for v in values)


def _schema_expression(dialect: Dialect, table: VersionTable) -> str:
    """Where the guard looks for the version table: the named schema, or the dialect's default."""
    if table.schema:
        return dialect.guard.schema_literal.format(schema=_literal(table.schema))
    return dialect.guard.schema_default


def _values(dialect: Dialect, table: VersionTable, revisions: tuple[str, ...]) -> dict[str, str]:
    return {
        "table_name": _literal(table.name),
        "table_sql": table.sql,
        "table_in_literal": _literal(table.sql),
        "expected": _literal(expected_text(revisions, table)),
        "expected_present": "1" if revisions else "0",
        "accepted": _accepted(revisions, table, dialect),
        "schema_expression": _schema_expression(dialect, table),
        "create_version_table_if_absent": table.create + dialect.terminator,
    }


def guard_statements(dialect: Dialect, table: VersionTable, revisions: tuple[str, ...]) -> list[Statement]:
    """The statements that stop a script unless ``table`` holds exactly ``revisions``."""
    values = _values(dialect, table, revisions)
    guard = dialect.guard
    if not revisions and guard.base_prepare:
        texts = [guard.base_prepare.format(**values), guard.check_revisions.format(**values)]
    else:
        texts = [guard.check.format(**values)]
        if revisions and guard.check_revisions:
            texts.append(guard.check_revisions.format(**values))
    return [Statement(GUARD, text) for text in texts]


@dataclass(frozen=True)
class ApplierLock:
    """What keeps two sessions from applying files to one database at once (dialect ``[guard]
    lock``): taken before the guard, released at the end where it is not the transaction's."""

    place: str  # "after_begin", "top" or "wrap"
    take: Statement
    release: Statement | None
    # held for the whole file, before its first BEGIN to its end (dialect ``file_lock``)
    whole_file: tuple[Statement, Statement] | None = None


DEFAULT_LOCK_WAIT_SECONDS = 86_400  # without --lock-timeout, a second applier waits (up to a day)


def applier_lock(dialect: Dialect, table: VersionTable, wait_ms: int | None) -> ApplierLock | None:
    """The dialect's applier lock for files of ``table``, waiting ``wait_ms`` (None: the dialect's
    own lock wait, or a day); None where the dialect has none."""
    guard = dialect.guard
    if not guard.lock:
        return None
    wait_seconds = DEFAULT_LOCK_WAIT_SECONDS if wait_ms is None else max(1, -(-wait_ms // 1000))
    values = {**_values(dialect, table, ()), "wait_seconds": str(wait_seconds)}
    release = Statement(GUARD, guard.lock_release.format(**values)) if guard.lock_release else None
    whole_file = (Statement(GUARD, guard.file_lock.format(**values)),
                  Statement(GUARD, guard.file_lock_release.format(**values))) if guard.file_lock else None
    return ApplierLock(guard.lock_place, Statement(GUARD, guard.lock.format(**values)), release, whole_file)


def version_row_check(dialect: Dialect, table_name: str, revision: str) -> Statement | None:
    """The statement right after a version UPDATE or DELETE of ``revision`` that stops the script
    unless it changed exactly one row (None where the dialect needs none)."""
    check = dialect.guard.version_row_check
    if not check:
        return None
    return Statement(CHECK, check.format(table_name=_literal(table_name), revision=_literal(revision)))


def stop_statement(dialect: Dialect, message: str) -> Statement:
    """A statement that always fails with ``message`` (on MySQL its commas become spaces)."""
    once = _literal(message)
    return Statement(GUARD, dialect.guard.fail.format(
        message_in_literal=once, message_in_literal_in_literal=_literal(once)))
