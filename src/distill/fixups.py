"""Where Alembic's offline output is wrong for a dialect, and how distill corrects it.

This is the one module with dialect-specific code; the facts it uses (terminators, delimiters,
lexical rules) come from ``dialects/``. Each fix is small and named after the defect:

* literal tabs: Alembic replaces every tab of a compiled statement with four spaces, changing
  string values; distill expands only layout tabs.
* literal carriage returns: the mariadb/mysql client and the sqlite3 shell drop a CR that comes
  before a LF even inside a string literal; distill writes such CRs as the dialect's data file says.
* version-table RETURNING: the version INSERT carries ``RETURNING`` (PostgreSQL, SQLite),
  ``OUTPUT inserted...`` (SQL Server) and on Oracle ``RETURNING ... INTO :ret_0``, which cannot
  run as a script; distill turns implicit returning off for the version table.
* version table from base: Alembic's offline CREATE TABLE fails on a database that online Alembic
  downgraded to base (it leaves the table, empty); distill writes it as the dialect's data file
  says (IF NOT EXISTS, or a guarded form).
* SQL Server IDENTITY_INSERT: offline ``bulk_insert`` wraps every insert in ``SET IDENTITY_INSERT
  ... ON/OFF``, which fails on a table without an identity column; distill emits it only where
  the inserted rows carry an identity column (guarded at run time when the table is a lightweight
  ``sa.table()`` whose identity column is unknown).
* set order: Alembic's batch mode (SQLite table recreation) copies constraints and indexes in
  set order, and its version bookkeeping picks which row to UPDATE and which to INSERT/DELETE
  at merges and unmerges in set order: the SQL changed with PYTHONHASHSEED. distill makes both
  follow a fixed order (sorted names; the revision's own down_revision order).
* MySQL/MariaDB compound statements: the client cuts ``BEGIN ... END`` bodies at the first ``;``
  unless the script switches ``DELIMITER``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl
from alembic.operations.batch import ApplyBatchImpl
from alembic.runtime.migration import HeadMaintainer, RevisionStep
from sqlalchemy import Table, schema, text

from .analysis import DESTRUCTIVE, annotation, lossy_type_change
from .capture import SQL, Statement
from .dialects import Dialect, LexerRules
from .lexer import COMMENT, PUNCT, STRING, WS, expand_layout_tabs, tokenize


def _carriage_return_kept(literal: str, dialect: Dialect) -> str:
    if dialect.carriage_return == "backslash-escape":
        return literal.replace("\r", "\\r")
    quote = literal[0]  # "concatenate": 'a<CR>b' -> ('a' || char(13) || 'b')
    pieces = literal[1:-1].split("\r")
    joiner = f" || {dialect.carriage_return_expression} || "
    return "(" + joiner.join(f"{quote}{piece}{quote}" for piece in pieces) + ")"


def literals_kept(sql: str, dialect: Dialect) -> str:
    """``sql`` with layout tabs expanded and literal carriage returns made client-proof."""
    sql = expand_layout_tabs(sql, dialect.lexer)
    if "\r" not in sql or dialect.carriage_return == "as-is":
        return sql
    return "".join(
        _carriage_return_kept(piece, dialect)
        if kind == STRING and "\r" in piece and piece[0] in "'\""
        else piece
        for kind, piece in tokenize(sql, dialect.lexer)
    )


def version_table_create(create: str, table_sql: str, dialect: Dialect) -> str:
    """Alembic's CREATE TABLE of the version table, made to tolerate an existing (empty) one."""
    rest = create[len("CREATE TABLE "):] if create.upper().startswith("CREATE TABLE ") else create
    return dialect.version_table_create.format(
        create=create, rest=rest, table_in_literal=table_sql.replace("'", "''"),
        create_in_literal=create.replace("'", "''"))


class _Precompiled(str):
    """SQL already compiled for this impl's dialect: _exec writes it as it is."""


class _LiteralsKept(DefaultImpl):
    """Alembic's offline ``_exec`` (alembic 1.20), with literals kept exactly (see above)."""

    distill_dialect: Dialect
    distill_version_table: Any
    distill_version_sql: dict[str, str]

    def version_sql(self, kind: str, **values: str) -> _Precompiled:
        """The version table's INSERT / DELETE / UPDATE: compiled once, then filled in. Alembic
        inlines the revision ids (literal_column), so filling in a compiled template writes the
        same bytes as compiling each statement, at a fraction of the cost per step."""
        if kind not in self.distill_version_sql:
            table = self.distill_version_table
            mark = {name: sa.literal_column(f"'@@distill-{name}@@'") for name in ("version", "to", "from")}
            construct = {
                "insert": lambda: table.insert().values(version_num=mark["version"]),
                "delete": lambda: table.delete().where(table.c.version_num == mark["version"]),
                "update": lambda: table.update().values(version_num=mark["to"]).where(
                    table.c.version_num == mark["from"]),
            }[kind]()
            compile_kw = {"compile_kwargs": {"literal_binds": True}} if self.literal_binds else {}
            compiled = str(construct.compile(dialect=self.dialect, **compile_kw))
            self.distill_version_sql[kind] = literals_kept(compiled, self.distill_dialect).strip()
        sql = self.distill_version_sql[kind]
        for name, value in values.items():
            sql = sql.replace(f"@@distill-{name}@@", value)
        return _Precompiled(sql)

    def _exec(self, construct, execution_options=None, multiparams=None, params=None):
        if not self.as_sql:
            return super()._exec(construct, execution_options, multiparams, params or {})
        if isinstance(construct, _Precompiled):
            self.static_output(str(construct) + self.command_terminator)
            return None
        if isinstance(construct, str):
            construct = text(construct)
        if multiparams is not None or params:
            raise TypeError("SQL parameters not allowed with as_sql")
        compile_kw: dict[str, Any] = {}
        if self.literal_binds and not isinstance(construct, schema.DDLElement):
            compile_kw = {"compile_kwargs": {"literal_binds": True}}
        compiled = literals_kept(str(construct.compile(dialect=self.dialect, **compile_kw)),
                                 self.distill_dialect).strip()
        if isinstance(construct, schema.CreateTable) and construct.element is self.distill_version_table:
            table_sql = self.dialect.identifier_preparer.format_table(construct.element)
            compiled = version_table_create(compiled, table_sql, self.distill_dialect)
        self.static_output(compiled + self.command_terminator)
        return None


class _IdentityInsertOnlyWhereNeeded(DefaultImpl):
    """SQL Server: SET IDENTITY_INSERT only around rows that carry an identity column."""

    def bulk_insert(self, table, rows, **kw):
        if not self.as_sql:
            return super().bulk_insert(table, rows, **kw)
        columns = sorted({key for row in rows for key in row})
        name = self.dialect.identifier_preparer.format_table(table)
        if isinstance(table, Table):
            identity = table.autoincrement_column
            guard = "" if identity is not None and identity.name in columns else None
        else:  # sa.table(): which column is the identity is only known to the database
            names = ", ".join("N'" + c.replace("'", "''") + "'" for c in columns)
            target = (table.schema + "." if table.schema else "") + table.name
            guard = (
                "IF EXISTS (SELECT 1 FROM sys.identity_columns WHERE object_id = "
                f"OBJECT_ID(N'{target.replace(chr(39), chr(39) * 2)}') AND name IN ({names})) "
            )
        if guard is not None:
            self._exec(f"{guard}SET IDENTITY_INSERT {name} ON")
        # Skip MSSQLImpl.bulk_insert (the unconditional wrapper), keep the rest of the chain.
        DefaultImpl.bulk_insert(self, table, rows, **kw)
        if guard is not None:
            self._exec(f"{guard}SET IDENTITY_INSERT {name} OFF")
        return None


class _TypeChangesJudged(DefaultImpl):
    """Notes a type change that can lose data, where Alembic still knows both types."""

    def alter_column(self, table_name, column_name, **kw):
        if self.as_sql:
            _note_type_change(self, table_name, column_name, kw)
        return super().alter_column(table_name, column_name, **kw)


def _note_type_change(impl: Any, table_name: str, column_name: str, kw: dict) -> None:
    message = lossy_type_change(table_name, column_name, kw.get("existing_type"), kw.get("type_"))
    dialect = getattr(impl, "distill_dialect", None)
    if message and dialect is not None:
        impl.output_buffer.add(annotation(dialect, DESTRUCTIVE, message))


# Overrides that must win over the dialect's own impl class (they come before it in the MRO).
_OVERRIDES: dict[str, tuple[type, ...]] = {"mssql": (_IdentityInsertOnlyWhereNeeded,)}


def patch_context(migration_context: Any, dialect: Dialect) -> None:
    """Correct the configured MigrationContext in place before any SQL is rendered."""
    migration_context._version.implicit_returning = False
    impl = migration_context.impl
    # _LiteralsKept sits between the dialect's impl and DefaultImpl in the MRO, so the
    # dialect's own _exec (a batch separator after each statement) still runs around it.
    bases = (_TypeChangesJudged, *_OVERRIDES.get(dialect.name, ()), type(impl), _LiteralsKept)
    impl.__class__ = type(f"Distill{type(impl).__name__}", bases, {})
    impl.distill_dialect = dialect
    impl.distill_version_table = migration_context._version
    impl.distill_version_sql = {}


def _constraint_key(constraint: Any) -> tuple[str, str, str]:
    columns = ",".join(sorted(c.name for c in getattr(constraint, "columns", ())))
    return (type(constraint).__name__, str(constraint.name or ""), columns)


def _grab_sorted(self: ApplyBatchImpl) -> None:
    _ORIGINALS["grab"](self)
    self.named_constraints = dict(sorted(self.named_constraints.items()))
    self.unnamed_constraints.sort(key=_constraint_key)
    self.indexes = dict(sorted(self.indexes.items(), key=lambda item: str(item[0])))


def _ancestors_of(step: RevisionStep, revisions) -> set[str]:
    rmap = step.revision_map
    return {r.revision for r in rmap._get_ancestor_nodes(rmap.get_revisions(revisions), check=False)}


def _merge_branch_idents(self: RevisionStep, heads):
    """Alembic's RevisionStep.merge_branch_idents, keeping from_revisions' order."""
    other_heads = set(heads).difference(self.from_revisions)
    from_revisions = list(self.from_revisions)
    if other_heads:
        ancestors = _ancestors_of(self, other_heads)
        from_revisions = [r for r in from_revisions if r not in ancestors]
    return from_revisions[0:-1], from_revisions[-1], self.to_revisions[0]


def _unmerge_to_revisions(self: RevisionStep, heads) -> tuple[str, ...]:
    """Alembic's RevisionStep._unmerge_to_revisions, keeping to_revisions' order, and without
    its walk over every ancestor when there is nothing to deduplicate: Alembic calls it for every
    downgrade step, which made a downgrade of N linear revisions take O(N^2)."""
    to_revisions = self.to_revisions
    other_heads = set(heads).difference([self.revision.revision])
    if other_heads:
        ancestors = _ancestors_of(self, other_heads)
    elif len(to_revisions) <= 1:
        return tuple(to_revisions)
    else:
        ancestors = {
            r for to_revision in to_revisions
            for r in _ancestors_of(self, to_revision) if r != to_revision
        }
    return tuple(r for r in to_revisions if r not in ancestors)


def _batch_alter_column(self: ApplyBatchImpl, table_name, column_name, *args, **kw):
    _note_type_change(self.impl, table_name, column_name, kw)
    return _ORIGINALS["batch_alter"](self, table_name, column_name, *args, **kw)


def _batch_drop_column(self: ApplyBatchImpl, table_name, column, **kw):
    dialect = getattr(self.impl, "distill_dialect", None)
    if dialect is not None:  # the recreated table simply lacks the column: say so
        self.impl.output_buffer.add(annotation(
            dialect, DESTRUCTIVE, f"drops column {table_name}.{column.name} and its data"))
    return _ORIGINALS["batch_drop"](self, table_name, column, **kw)


def _fast_version(kind: str):
    """HeadMaintainer._insert/_delete/_update_version, writing precompiled SQL offline."""
    original = getattr(HeadMaintainer, f"_{kind}_version")

    def insert(self, version):
        impl = self.context.impl
        if not (impl.as_sql and isinstance(impl, _LiteralsKept)):
            return original(self, version)
        assert version not in self.heads
        self.heads.add(version)
        impl._exec(impl.version_sql("insert", version=version))

    def delete(self, version):
        impl = self.context.impl
        if not (impl.as_sql and isinstance(impl, _LiteralsKept)):
            return original(self, version)
        self.heads.remove(version)
        impl._exec(impl.version_sql("delete", version=version))

    def update(self, from_, to_):
        impl = self.context.impl
        if not (impl.as_sql and isinstance(impl, _LiteralsKept)):
            return original(self, from_, to_)
        assert to_ not in self.heads
        self.heads.remove(from_)
        self.heads.add(to_)
        impl._exec(impl.version_sql("update", **{"from": from_, "to": to_}))

    return {"insert": insert, "delete": delete, "update": update}[kind]


_ORIGINALS = {
    "insert_version": HeadMaintainer._insert_version,
    "delete_version": HeadMaintainer._delete_version,
    "update_version": HeadMaintainer._update_version,
    "batch_alter": ApplyBatchImpl.alter_column,
    "batch_drop": ApplyBatchImpl.drop_column,
    "grab": ApplyBatchImpl._grab_table_elements,
    "merge": RevisionStep.merge_branch_idents,
    "unmerge": RevisionStep._unmerge_to_revisions,
}


_PATCHES = [
    (HeadMaintainer, "_insert_version", _fast_version("insert"), "insert_version"),
    (HeadMaintainer, "_delete_version", _fast_version("delete"), "delete_version"),
    (HeadMaintainer, "_update_version", _fast_version("update"), "update_version"),
    (ApplyBatchImpl, "_grab_table_elements", _grab_sorted, "grab"),
    (ApplyBatchImpl, "alter_column", _batch_alter_column, "batch_alter"),
    (ApplyBatchImpl, "drop_column", _batch_drop_column, "batch_drop"),
    (RevisionStep, "merge_branch_idents", _merge_branch_idents, "merge"),
    (RevisionStep, "_unmerge_to_revisions", _unmerge_to_revisions, "unmerge"),
]


@contextlib.contextmanager
def alembic_patched() -> Iterator[None]:
    """While rendering: Alembic's set-ordered choices follow a fixed order, and batch mode
    reports the columns it drops and the types it narrows (see above)."""
    for owner, name, replacement, _ in _PATCHES:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, _, key in _PATCHES:
            setattr(owner, name, _ORIGINALS[key])


@functools.lru_cache(maxsize=8192)  # a step's statements are emitted twice: whole file and step file
def _compound_body(statement: str, rules: LexerRules, terminator: str) -> str | None:
    """The body of ``statement`` without its final terminator(s) when it has inner ``;``."""
    tokens = tokenize(statement, rules)
    while tokens and (tokens[-1][0] == WS or tokens[-1][1] == terminator):
        tokens.pop()
    if not any(kind == PUNCT and ";" in piece for kind, piece in tokens):
        return None
    body = "".join(piece for _, piece in tokens)
    # A delimiter appended to a trailing line comment would be commented out.
    return body + "\n" if tokens[-1][0] == COMMENT else body


def client_ready(statements: list[Statement], dialect: Dialect) -> list[Statement]:
    """Statements rewritten only where the dialect's client would otherwise misread them."""
    if dialect.compound_statements != "delimiter":
        return statements
    out = []
    for statement in statements:
        body = _compound_body(statement.text, dialect.lexer, dialect.terminator)
        if statement.kind != SQL or body is None:
            out.append(statement)
            continue
        delimiter = next((d for d in dialect.delimiter_candidates if d not in body), None)
        if delimiter is None:
            raise ValueError(f"no DELIMITER candidate is free for statement: {body[:80]}")
        out.append(
            Statement(SQL, f"DELIMITER {delimiter}\n{body}{delimiter}\nDELIMITER {dialect.terminator}")
        )
    return out
