"""Every place distill reaches into Alembic's or SQLAlchemy's internals, and nowhere else.

Checked against Alembic 1.20.1 (``TESTED_ALEMBIC``). Each original distill patches, wraps, copies
or re-implements has its source fingerprint in ``FINGERPRINTS``; tests/test_alembic_compat.py
fails when one of them changes, so a new Alembic cannot silently change what a patch assumes.

* Reading the revision map: private attributes and methods, behind small functions.
* Driving an environment: ``configure`` replaced on the EnvironmentContext instance (subclassing
  it breaks the ``alembic.context`` proxy), the migration context's version table.
* Corrections while rendering offline (``alembic_patched``, ``patch_context``):
  - literals kept exact (``DefaultImpl._exec`` copied, with statements.literals applied);
  - version-table RETURNING off: the version INSERT carries ``RETURNING`` (PostgreSQL, SQLite),
    ``OUTPUT inserted...`` (SQL Server) or ``RETURNING ... INTO :ret_0`` (Oracle) otherwise;
  - version-table statements compiled once per run and filled in (same bytes, less work);
  - set order: batch mode copies constraints and indexes, and the version bookkeeping picks rows
    at merges, in set order (the SQL changed with PYTHONHASHSEED); distill fixes the order;
  - a downgrade's bookkeeping without Alembic's walk over every ancestor at every step (O(N^2));
  - SQL Server: SET IDENTITY_INSERT only where the rows carry an identity column;
  - lossy type changes and batch-mode column drops annotated where Alembic still knows them.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl
from alembic.ddl.mssql import MSSQLImpl
from alembic.operations.batch import ApplyBatchImpl
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import HeadMaintainer, MigrationStep, RevisionStep
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionMap
from sqlalchemy import Table, schema, text

from .dialects import Dialect
from .statements.findings import DESTRUCTIVE, annotation
from .statements.literals import literals_kept, version_table_create
from .statements.type_changes import lossy_type_change

TESTED_ALEMBIC = "1.20.1"

# ---- reading the revision map ---------------------------------------------------------------


def version_locations(script: ScriptDirectory) -> list[str]:
    """The version folders Alembic loads scripts from, as configured."""
    return list(script._version_locations)


def revision_ids(rmap: RevisionMap) -> list[str]:
    """Every revision id of the map, in the map's own order (base excluded)."""
    return [rev for rev in rmap._revision_map if rev]


def parent_table(rmap: RevisionMap) -> dict[str, tuple[str, ...]]:
    """Revision id -> its parents and dependencies (Alembic's normalized down revisions)."""
    return {rev: tuple(s._normalized_down_revisions) for rev, s in rmap._revision_map.items() if rev}


def declared_parents(script: Any) -> tuple[str, ...]:
    """A script's own down revisions (dependencies excluded)."""
    return tuple(script._versioned_down_revisions)


def collect_revisions(rmap: RevisionMap, upper: Any, lower: Any, *, downgrade: bool) -> tuple[Any, Any]:
    """(revisions, heads) that ``iterate_revisions`` orders for an upgrade (``implicit_base``) or a
    downgrade (``select_for_downgrade``)."""
    collect = rmap._collect_downgrade_revisions if downgrade else rmap._collect_upgrade_revisions
    return collect(upper, lower, inclusive=False, implicit_base=not downgrade, assert_relative_length=True)


def ancestor_ids(rmap: RevisionMap, revisions: Any, *, dependencies: bool = True) -> set[str]:
    """Ids of ``revisions`` and all their ancestors (through ``depends_on`` too, by default)."""
    nodes = rmap._get_ancestor_nodes(rmap.get_revisions(revisions), include_dependencies=dependencies,
                                     check=False)
    return {node.revision for node in nodes}


def upgrade_step(rmap: RevisionMap, script: Any) -> MigrationStep:
    return MigrationStep.upgrade_from_script(rmap, script)


def downgrade_step(rmap: RevisionMap, script: Any) -> MigrationStep:
    return MigrationStep.downgrade_from_script(rmap, script)


def online_steps(script: ScriptDirectory, verb: str, target: str, heads: Any) -> Any:
    """What ``alembic upgrade|downgrade target`` runs from ``heads``."""
    return script._upgrade_revs(target, heads) if verb == "upgrade" else script._downgrade_revs(target, heads)


# ---- driving an environment -----------------------------------------------------------------


def run_env(env: EnvironmentContext, script: ScriptDirectory, configure: Callable[..., None]) -> None:
    """Run the project's env.py with ``context.configure`` replaced by ``configure`` (which gets
    the original as its first argument)."""
    original = env.configure
    env.configure = lambda **kw: configure(original, **kw)  # type: ignore[method-assign]
    script.run_env()


def version_table_of(context: Any) -> Table:
    """The version Table of a configured MigrationContext (env.py may rename or move it)."""
    return context._version


def skipped_step(migration_step: Any, run: Callable[..., None]) -> Any:
    """``migration_step`` with its migration function replaced by ``run``: the version table
    still moves, nothing else runs."""
    clone = copy.copy(migration_step)
    run.__name__ = migration_step.migration_fn.__name__  # Alembic names the step after it
    clone.__class__ = type("SkippedStep", (type(migration_step),), {"migration_fn": property(lambda _: run)})
    return clone


class HeadsOnly(HeadMaintainer):
    """HeadMaintainer's bookkeeping without a database or SQL: the version table's rows."""

    def __init__(self, heads: Any) -> None:  # noqa: D107 - no context needed
        self.heads = set(heads)

    def _insert_version(self, version: str) -> None:
        self.heads.add(version)

    def _delete_version(self, version: str) -> None:
        self.heads.remove(version)

    def _update_version(self, from_: str, to_: str) -> None:
        self.heads.remove(from_)
        self.heads.add(to_)


def heads_after(start: tuple[str, ...], migration_steps: list[Any]) -> tuple[str, ...]:
    """The version table's rows after ``migration_steps`` ran from ``start``, sorted."""
    maintainer = HeadsOnly(start)
    with alembic_patched():  # the same (linear-time) bookkeeping rendering uses
        for step in migration_steps:
            maintainer.update_to_step(step)
    return tuple(sorted(maintainer.heads))


# ---- corrections of the impl (one MigrationContext) -----------------------------------------


class _Precompiled(str):
    """SQL already compiled for this impl's dialect: _exec writes it as it is."""


class _LiteralsKept(DefaultImpl):
    """Alembic's offline ``DefaultImpl._exec`` (1.20.1), with literals kept exactly."""

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
    """SQL Server: SET IDENTITY_INSERT only around rows that carry an identity column (guarded
    at run time when the table is a lightweight ``sa.table()`` whose identity is unknown)."""

    def bulk_insert(self, table, rows, **kw):
        if not self.as_sql:
            return super().bulk_insert(table, rows, **kw)
        columns = sorted({key for row in rows for key in row})
        name = self.dialect.identifier_preparer.format_table(table)
        if isinstance(table, Table):
            identity = table.autoincrement_column
            guard = "" if identity is not None and identity.name in columns else None
        else:
            names = ", ".join("N'" + c.replace("'", "''") + "'" for c in columns)
            target = (table.schema + "." if table.schema else "") + table.name
            guard = ("IF EXISTS (SELECT 1 FROM sys.identity_columns WHERE object_id = "
                     f"OBJECT_ID(N'{target.replace(chr(39), chr(39) * 2)}') AND name IN ({names})) ")
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


# Hooks a dialect's data file may name (alembic_impl_hooks); they come before its impl in the MRO.
_IMPL_HOOKS: dict[str, type] = {"identity_insert_only_where_needed": _IdentityInsertOnlyWhereNeeded}


def patch_context(migration_context: Any, dialect: Dialect) -> None:
    """Correct the configured MigrationContext in place before any SQL is rendered."""
    migration_context._version.implicit_returning = False
    impl = migration_context.impl
    hooks = tuple(_IMPL_HOOKS[name] for name in dialect.alembic_impl_hooks)
    # _LiteralsKept sits between the dialect's impl and DefaultImpl in the MRO, so the
    # dialect's own _exec (a batch separator after each statement) still runs around it.
    bases = (_TypeChangesJudged, *hooks, type(impl), _LiteralsKept)
    impl.__class__ = type(f"Distill{type(impl).__name__}", bases, {})
    impl.distill_dialect = dialect
    impl.distill_version_table = migration_context._version
    impl.distill_version_sql = {}


# ---- process-wide patches while rendering ---------------------------------------------------


def _constraint_key(constraint: Any) -> tuple[str, str, str]:
    columns = ",".join(sorted(c.name for c in getattr(constraint, "columns", ())))
    return (type(constraint).__name__, str(constraint.name or ""), columns)


def _grab_sorted(self: ApplyBatchImpl) -> None:
    _ORIGINALS[ApplyBatchImpl, "_grab_table_elements"](self)
    self.named_constraints = dict(sorted(self.named_constraints.items()))
    self.unnamed_constraints.sort(key=_constraint_key)
    self.indexes = dict(sorted(self.indexes.items(), key=lambda item: str(item[0])))


def _merge_branch_idents(self: RevisionStep, heads):
    """Alembic's RevisionStep.merge_branch_idents, keeping from_revisions' order."""
    other_heads = set(heads).difference(self.from_revisions)
    from_revisions = list(self.from_revisions)
    if other_heads:
        ancestors = ancestor_ids(self.revision_map, other_heads)
        from_revisions = [r for r in from_revisions if r not in ancestors]
    return from_revisions[0:-1], from_revisions[-1], self.to_revisions[0]


def _unmerge_to_revisions(self: RevisionStep, heads) -> tuple[str, ...]:
    """Alembic's RevisionStep._unmerge_to_revisions, keeping to_revisions' order, and without
    its walk over every ancestor when there is nothing to deduplicate (O(N^2) downgrades)."""
    to_revisions = self.to_revisions
    other_heads = set(heads).difference([self.revision.revision])
    if other_heads:
        ancestors = ancestor_ids(self.revision_map, other_heads)
    elif len(to_revisions) <= 1:
        return tuple(to_revisions)
    else:
        ancestors = {r for to_revision in to_revisions
                     for r in ancestor_ids(self.revision_map, to_revision)
                     if r != to_revision}
    return tuple(r for r in to_revisions if r not in ancestors)


def _batch_alter_column(self: ApplyBatchImpl, table_name, column_name, *args, **kw):
    _note_type_change(self.impl, table_name, column_name, kw)
    return _ORIGINALS[ApplyBatchImpl, "alter_column"](self, table_name, column_name, *args, **kw)


def _batch_drop_column(self: ApplyBatchImpl, table_name, column, **kw):
    dialect = getattr(self.impl, "distill_dialect", None)
    if dialect is not None:  # the recreated table simply lacks the column: say so
        self.impl.output_buffer.add(annotation(
            dialect, DESTRUCTIVE, f"drops column {table_name}.{column.name} and its data"))
    return _ORIGINALS[ApplyBatchImpl, "drop_column"](self, table_name, column, **kw)


def _offline_impl(maintainer: HeadMaintainer) -> _LiteralsKept | None:
    impl = maintainer.context.impl
    return impl if impl.as_sql and isinstance(impl, _LiteralsKept) else None


def _insert_version(self: HeadMaintainer, version: str) -> None:
    impl = _offline_impl(self)
    if impl is None:
        return _ORIGINALS[HeadMaintainer, "_insert_version"](self, version)
    assert version not in self.heads
    self.heads.add(version)
    impl._exec(impl.version_sql("insert", version=version))


def _delete_version(self: HeadMaintainer, version: str) -> None:
    impl = _offline_impl(self)
    if impl is None:
        return _ORIGINALS[HeadMaintainer, "_delete_version"](self, version)
    self.heads.remove(version)
    impl._exec(impl.version_sql("delete", version=version))


def _update_version(self: HeadMaintainer, from_: str, to_: str) -> None:
    impl = _offline_impl(self)
    if impl is None:
        return _ORIGINALS[HeadMaintainer, "_update_version"](self, from_, to_)
    assert to_ not in self.heads
    self.heads.remove(from_)
    self.heads.add(to_)
    impl._exec(impl.version_sql("update", **{"from": from_, "to": to_}))


_PATCHES: dict[tuple[type, str], Callable[..., Any]] = {
    (HeadMaintainer, "_insert_version"): _insert_version,
    (HeadMaintainer, "_delete_version"): _delete_version,
    (HeadMaintainer, "_update_version"): _update_version,
    (ApplyBatchImpl, "_grab_table_elements"): _grab_sorted,
    (ApplyBatchImpl, "alter_column"): _batch_alter_column,
    (ApplyBatchImpl, "drop_column"): _batch_drop_column,
    (RevisionStep, "merge_branch_idents"): _merge_branch_idents,
    (RevisionStep, "_unmerge_to_revisions"): _unmerge_to_revisions,
}
_ORIGINALS = {key: getattr(*key) for key in _PATCHES}
_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def alembic_patched() -> Iterator[None]:
    """While inside (re-entrant: only the outermost exit restores Alembic's own methods):
    Alembic's set-ordered choices follow a fixed order, downgrade bookkeeping is linear, and
    batch mode reports the columns it drops and the types it narrows."""
    global _depth
    with _lock:
        if _depth == 0:
            for (owner, name), replacement in _PATCHES.items():
                setattr(owner, name, replacement)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for (owner, name), original in _ORIGINALS.items():
                    setattr(owner, name, original)


# ---- what the patches assume ----------------------------------------------------------------

# Originals patched, wrapped, copied or re-implemented, by the sha256 (first 16 hex digits) of
# their source in TESTED_ALEMBIC. A change means: read the new original, adapt, update here.
FINGERPRINTS: dict[str, str] = {}
ORIGINALS_CHECKED: dict[str, Any] = {
    "HeadMaintainer._insert_version": HeadMaintainer._insert_version,
    "HeadMaintainer._delete_version": HeadMaintainer._delete_version,
    "HeadMaintainer._update_version": HeadMaintainer._update_version,
    "HeadMaintainer.update_to_step": HeadMaintainer.update_to_step,
    "HeadMaintainer.__init__": HeadMaintainer.__init__,
    "ApplyBatchImpl._grab_table_elements": ApplyBatchImpl._grab_table_elements,
    "ApplyBatchImpl.alter_column": ApplyBatchImpl.alter_column,
    "ApplyBatchImpl.drop_column": ApplyBatchImpl.drop_column,
    "RevisionStep.merge_branch_idents": RevisionStep.merge_branch_idents,
    "RevisionStep._unmerge_to_revisions": RevisionStep._unmerge_to_revisions,
    "DefaultImpl._exec": DefaultImpl._exec,
    "DefaultImpl.alter_column": DefaultImpl.alter_column,
    "MSSQLImpl.bulk_insert": MSSQLImpl.bulk_insert,
    "RevisionMap._topological_sort": RevisionMap._topological_sort,
    "RevisionMap._collect_upgrade_revisions": RevisionMap._collect_upgrade_revisions,
    "RevisionMap._collect_downgrade_revisions": RevisionMap._collect_downgrade_revisions,
    "ScriptDirectory._upgrade_revs": ScriptDirectory._upgrade_revs,
    "ScriptDirectory._downgrade_revs": ScriptDirectory._downgrade_revs,
}


def fingerprint(function: Any) -> str:
    """The first 16 hex digits of the sha256 of ``function``'s source."""
    return hashlib.sha256(inspect.getsource(function).encode("utf-8")).hexdigest()[:16]
