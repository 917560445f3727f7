"""Rendering against a shadow database (``--shadow``): the SQLAlchemy and Alembic side.

Alembic stays in offline mode, so everything it writes is written exactly as offline mode writes
it (the bookkeeping, BEGIN/COMMIT, batch mode's table copy, one INSERT per bulk row). On top:

* every statement the impl writes also runs on the shadow connection, so the shadow follows the
  migration and whatever a revision then reads is the schema and rows it would see online;
* ``op.get_bind()`` and ``context.get_bind()`` are the shadow connection, and revisions see
  ``context.is_offline_mode()`` as False: they take their online path;
* what a revision writes through that connection itself (``bind.execute(update)``, an ORM
  session's flush) is written to the output with its parameters as literals, then runs;
* what it reads is run and reported (``on_read``), never written: only what is provably a read
  (``statements.reads.is_read``); when in doubt, a statement is written;
* batch mode without ``copy_from`` reflects the table from the shadow;
* ``autocommit_block()`` where the output writes no COMMIT (SQLite, MySQL) commits the shadow,
  runs the block outside any transaction and begins again, as online Alembic does;
* on a server standing in for the dialect's own (MariaDB for MySQL), a statement it writes its
  own way (``statements.stand_ins``) runs in that form; the file keeps the dialect's.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl
from alembic.operations.batch import BatchOperationsImpl
from sqlalchemy import event
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter, TextClause
from sqlalchemy.types import NullType

from ..dialects import Dialect
from ..statements.reads import is_read, queries
from ..statements.stand_ins import stand_in_form, stand_in_note
from .impl import Precompiled
from .versions import drops_the_version_table

# transaction control a revision sends: the shadow's own transaction is distill's (MariaDB's
# BEGIN NOT ATOMIC starts a compound statement, not a transaction)
_TRANSACTION = re.compile(r"^\s*(BEGIN(?!\s+NOT\s+ATOMIC\b)|COMMIT|ROLLBACK|START\s+TRANSACTION|END|"
                          r"SAVEPOINT|RELEASE)\b", re.I)
_ORIGINAL_FLUSH = getattr(BatchOperationsImpl, "flush", None)  # None: gone (fingerprints)


class CannotRender(Exception):
    """A statement sent through the shadow connection has a value with no SQL literal form."""


@dataclass
class ShadowLink:
    """The shadow connection as one rendering uses it."""

    connection: sa.engine.Connection
    dialect: Dialect
    on_read: Callable[[str], None]  # the SQL text of each read a revision sends
    # the WARNING for the statement just written, which ran on a stand-in in its own form
    on_stand_in: Callable[[str], None] = lambda _note: None
    stand_in: str = ""  # the server standing in for the dialect's own ("MariaDB"), or ""
    # commit() and begin() where the output commits and begins (a shadow distill made); None: the
    # shadow is one transaction, rolled back at the end, that cannot commit
    transactions: Any = None
    internal: bool = False  # distill itself is running a statement: not the revision's
    listeners: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)


def is_transaction_control(sql: str) -> bool:
    return bool(_TRANSACTION.match(sql))


class ShadowImpl(DefaultImpl):
    """Before the dialect's impl in the MRO: ``bind`` is the shadow, and what is written also runs."""

    distill_shadow: ShadowLink

    @property
    def bind(self) -> Any:
        return self.distill_shadow.connection

    def emit_commit(self) -> None:
        # the output commits (the end of a transaction, an autocommit_block() for a statement
        # such as CREATE INDEX CONCURRENTLY that cannot run inside one): so does the shadow
        super().emit_commit()
        if self.distill_shadow.transactions is not None:
            self.distill_shadow.transactions.commit()

    def emit_begin(self) -> None:
        super().emit_begin()
        if self.distill_shadow.transactions is not None:
            self.distill_shadow.transactions.begin()

    def distill_written(self, sql: str) -> None:
        """Run ``sql``, just written to the output, on the shadow (not transaction control: the
        shadow's transaction is distill's)."""
        if is_transaction_control(sql):
            return
        link = self.distill_shadow
        link.internal = True
        try:
            link.connection.execution_options(no_parameters=True).exec_driver_sql(sql)
        finally:
            link.internal = False


def attach(environment: Any, migration_context: Any, link: ShadowLink,
           write: Callable[[Any], None]) -> None:
    """Make the configured offline ``migration_context`` render against ``link``'s connection;
    ``write(construct)`` writes a statement a revision sent through the connection."""
    impl = migration_context.impl
    impl.__class__ = type(f"Shadow{type(impl).__name__}", (ShadowImpl, type(impl)), {})
    impl.distill_shadow = link
    migration_context.connection = link.connection  # context.get_bind()
    environment.context_opts["as_sql"] = False  # context.is_offline_mode() for the revisions

    def before_execute(conn, element, multiparams, params, execution_options):
        if link.internal or _is_savepoint(element) or drops_the_version_table(element, migration_context):
            return
        text = element if isinstance(element, str) else str(element.compile(dialect=conn.dialect))
        if is_read(text, link.dialect) or is_transaction_control(text):
            return
        for bound in bound_statements(element, multiparams, params):
            write(bound)

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        if not link.internal and queries(statement, link.dialect):
            link.on_read(statement)
        if not link.internal and getattr(context, "compiled", None) is None:
            _driver_level(statement, parameters, link, write)  # exec_driver_sql: no before_execute
        ran, form = stand_in_form(statement, link.dialect, link.stand_in)
        if form is not None:
            link.on_stand_in(stand_in_note(link.dialect, form, ran))
        return ran, parameters

    link.listeners = [("before_execute", before_execute), ("before_cursor_execute", before_cursor_execute)]
    for name, listener in link.listeners:
        event.listen(link.connection, name, listener, retval=name == "before_cursor_execute")
    if not impl.transactional_ddl:
        migration_context.autocommit_block = lambda: _autocommit_block(link)


def _driver_level(statement: str, parameters: Any, link: ShadowLink, write: Callable[[Any], None]) -> None:
    """A statement a revision sent with ``exec_driver_sql`` (SQLAlchemy fires no before_execute
    for it): written like any other unless it is a read or transaction control."""
    if is_read(statement, link.dialect) or is_transaction_control(statement):  # SAVEPOINT, RELEASE too
        return
    if parameters:
        raise CannotRender("driver-level SQL with parameters (exec_driver_sql) has no literal form")
    write(Precompiled(statement))


def detach(link: ShadowLink) -> None:
    """Remove what ``attach`` listened with (the connection outlives one rendering)."""
    for name, listener in link.listeners:
        event.remove(link.connection, name, listener)
    link.listeners = []


@contextlib.contextmanager
def _autocommit_block(link: ShadowLink) -> Iterator[None]:
    """``MigrationContext.autocommit_block()`` where the output writes no COMMIT around it
    (``transactional_ddl`` off: SQLite, MySQL): online Alembic commits the migration's
    transaction, runs the block in AUTOCOMMIT and begins again; the shadow does the same (a
    --shadow-url database, one transaction rolled back, runs the block inside it). Offline writes
    nothing for it, and neither does this."""
    if link.transactions is not None:
        link.transactions.commit()
    try:
        yield
    finally:
        if link.transactions is not None:
            link.transactions.begin()


def _is_savepoint(element: Any) -> bool:
    return type(element).__name__ in ("SavepointClause", "RollbackToSavepointClause",
                                      "ReleaseSavepointClause")


def bound_statements(element: Any, multiparams: Any, params: Any) -> list[Any]:
    """``element`` once per parameter set, each value bound into it as a literal."""
    rows = [dict(r) for r in (multiparams or [])] or [dict(params or {})]
    if isinstance(element, str):
        if any(rows):
            raise CannotRender("driver-level SQL with parameters (exec_driver_sql) has no literal form")
        return [Precompiled(element)]
    return [_bound(element, row) for row in rows]


def _bound(element: Any, row: dict[str, Any]) -> Any:
    if not row:
        return element
    if isinstance(element, TextClause):
        known = {b.key: b for b in element._bindparams.values()}
        return element.bindparams(*[
            sa.bindparam(key, value, type_=None if key not in known or isinstance(known[key].type, NullType)
                         else known[key].type)
            for key, value in row.items()])
    named = {b.key for b in visitors.iterate(element) if isinstance(b, BindParameter)}
    rest = {k: v for k, v in row.items() if k not in named}

    def with_value(node: Any) -> Any:  # a bound parameter given its value from the row
        if isinstance(node, BindParameter) and node.key in row:
            return sa.bindparam(node.key, row[node.key], type_=node.type, unique=node.unique)
        return None

    element = visitors.replacement_traverse(element, {}, with_value)
    if rest:
        if not hasattr(element, "values"):
            raise CannotRender(f"parameters {sorted(rest)} match no bound parameter of the statement")
        element = element.values(**rest)
    return element


def flush_reflecting(self: BatchOperationsImpl) -> None:
    """``BatchOperationsImpl.flush``; against a shadow, a table without ``copy_from`` is reflected
    from it (the offline check that forbids reflecting is skipped)."""
    context = self.operations.migration_context
    if not isinstance(context.impl, ShadowImpl):
        return _ORIGINAL_FLUSH(self)
    context.as_sql = False
    try:
        return _ORIGINAL_FLUSH(self)
    finally:
        context.as_sql = True
