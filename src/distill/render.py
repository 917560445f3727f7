"""Offline rendering: the planned steps as SQL for one dialect, captured step by step.

Two environment modes:

* project (default): the project's env.py runs, with ``context.configure`` wrapped so that it
  renders offline for the chosen dialect into distill's buffer; everything else env.py configures
  (version table, naming conventions via target_metadata, transaction_per_migration) is kept.
* standalone: env.py never runs; the options come from ``[tool.distill]``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.environment import EnvironmentContext

from . import fixups
from .capture import SQL, PrintedNotes, Segment, Statement, StatementCapture
from .diagnose import offline_error
from .dialects import Dialect
from .history import History
from .plan import Plan

_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class VersionTable:
    """The version table as the rendering used it (env.py may rename or move it)."""

    name: str
    schema: str | None
    sql: str  # quoted and qualified for the dialect
    create: str  # the CREATE TABLE statement, as the rendering writes it (without terminator)


@dataclass
class Rendering:
    """The SQL of one plan in one dialect: run-level and per-step segments, in output order."""

    dialect: Dialect
    plan: Plan
    segments: list[Segment]
    version_table: VersionTable
    heads_after: list[tuple[str, ...]]

    def heads_before(self, index: int) -> tuple[str, ...]:
        """What the version table holds before step ``index`` runs, sorted."""
        return tuple(sorted(self.plan.start)) if index == 0 else self.heads_after[index - 1]

    def statements(self) -> list[Statement]:
        return [s for segment in self.segments for s in segment.statements]

    @functools.cached_property
    def _positions(self) -> dict[int, int]:
        """Step index -> position of its segment (each step has exactly one)."""
        return {seg.step: i for i, seg in enumerate(self.segments) if seg.step is not None}

    @functools.cached_property
    def _run_wrapper(self) -> tuple[list[Statement], list[Statement], bool]:
        """(statements before the first step, after the last, whether any stand between steps)."""
        positions = sorted(self._positions.values())
        if not positions:
            return [s for seg in self.segments for s in seg.statements], [], False
        first, last = positions[0], positions[-1]
        prologue = [s for seg in self.segments[:first] for s in seg.statements]
        epilogue = [s for seg in self.segments[last + 1:] for s in seg.statements]
        between = any(seg.statements for seg in self.segments[first:last + 1] if seg.step is None)
        return prologue, epilogue, between

    def step_statements(self, index: int) -> list[Statement]:
        return list(self.segments[self._positions[index]].statements)

    def step_file_statements(self, index: int) -> list[Statement]:
        """Statements of one step as a file of its own, with the run's transaction around it.

        In a run with one transaction (BEGIN before the first step, COMMIT after the last), the
        step gets that BEGIN and COMMIT; with transaction_per_migration, Alembic already wrote
        them around each step (BEGIN inside the step, COMMIT right after it).
        """
        prologue, epilogue, between = self._run_wrapper
        position = self._positions[index]
        own = list(self.segments[position].statements)
        if not between:
            return prologue + own + epilogue
        following = self.segments[position + 1].statements if position + 1 < len(self.segments) else []
        return own + [s for s in following if s.kind == SQL]

    def map_statements(self, change: Callable[[list[Statement]], list[Statement]]) -> Rendering:
        """A copy with every segment's statements passed through ``change``."""
        segments = [Segment(seg.step, change(seg.statements)) for seg in self.segments]
        return dataclasses.replace(self, segments=segments)


def _forced_options(kw: dict[str, Any], dialect: Dialect, capture: StatementCapture,
                    on_step_end) -> dict[str, Any]:
    """env.py's configure() arguments, with what offline rendering needs forced in."""
    kw = dict(kw)
    for key in ("url", "connection", "dialect_name", "output_buffer", "output_encoding"):
        kw.pop(key, None)
    callbacks = kw.get("on_version_apply") or []
    callbacks = [callbacks] if callable(callbacks) else list(callbacks)
    kw.update(
        dialect_name=dialect.sqlalchemy_dialect,
        output_buffer=capture,
        literal_binds=True,  # otherwise bound values print as placeholders
        # named: otherwise '%' in text() comes out doubled
        dialect_opts={**(kw.get("dialect_opts") or {}), "paramstyle": "named"},
        on_version_apply=[*callbacks, on_step_end],
    )
    return kw


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    """env.py's fileConfig() turns Alembic's INFO logs on; they are noise next to the SQL."""
    logger = logging.getLogger("alembic")
    level = logger.level
    try:
        yield
    finally:
        logger.setLevel(level)


def _skipped(migration_step: Any, capture: StatementCapture, note: Statement) -> Any:
    """``migration_step`` with its migration function replaced by ``note``: the version table
    still moves, nothing else runs (an irreversible downgrade rendered on request)."""
    clone = copy.copy(migration_step)

    def run(**_: Any) -> None:
        capture.add(note)

    run.__name__ = migration_step.migration_fn.__name__  # Alembic names the step after it
    clone.__class__ = type("SkippedStep", (type(migration_step),), {"migration_fn": property(lambda _: run)})
    return clone


def render(history: History, plan: Plan, dialect: Dialect, *, standalone: bool = False,
           skip: dict[str, Statement] | None = None,
           on_step: Callable[[], None] | None = None) -> Rendering:
    """Render ``plan`` for ``dialect`` without a database. Raises OfflineRenderError.

    ``skip`` maps revisions whose migration function must not run to the note written instead.
    """
    capture = StatementCapture(dialect.batch_separator, dialect.comment)
    skip = skip or {}
    config = history.config
    config.set_main_option("sqlalchemy.url", f"{dialect.sqlalchemy_dialect}://")

    def steps(heads, context) -> Iterator[Any]:
        for index, migration_step in enumerate(plan.migration_steps):
            capture.start_step(index)
            revision = migration_step.revision.revision
            yield _skipped(migration_step, capture, skip[revision]) if revision in skip else migration_step

    def on_step_end(heads: set[str], **_: Any) -> None:
        capture.end_step(tuple(sorted(heads)))
        if on_step is not None:
            on_step()

    env = EnvironmentContext(
        config,
        history.script,
        fn=steps,
        as_sql=True,
        starting_rev=plan.start or None,
        destination_rev=",".join(plan.target) or "base",
        tag=None,
    )
    original_configure = env.configure

    version_tables: list[VersionTable] = []

    def configure(**kw: Any) -> None:
        logging.getLogger("alembic").setLevel(logging.WARNING)
        original_configure(**_forced_options(kw, dialect, capture, on_step_end))
        context = env.get_context()
        fixups.patch_context(context, dialect)
        table = context._version
        quoted = context.impl.dialect.identifier_preparer.format_table(table)
        plain = fixups.literals_kept(
            str(sa.schema.CreateTable(table).compile(dialect=context.impl.dialect)), dialect).strip()
        version_tables.append(VersionTable(
            table.name, table.schema, quoted, fixups.version_table_create(plain, quoted, dialect)))

    notes = PrintedNotes(capture, dialect.comment)
    try:
        with _quiet_alembic(), fixups.alembic_patched(), contextlib.redirect_stdout(notes), env:
            if standalone:
                configure(**_standalone_options(history, dialect))
                with env.begin_transaction():
                    env.run_migrations()
            else:
                env.configure = configure  # what the alembic.context proxy calls from env.py
                history.script.run_env()
            notes.flush()
    except Exception as exc:
        if _raised_by_distill(exc):
            raise  # a bug in distill, not in the revision: keep the traceback
        raise offline_error(exc, history, plan, capture.current_step, dialect) from None
    return Rendering(dialect=dialect, plan=plan, segments=capture.result(),
                     version_table=version_tables[-1], heads_after=capture.heads_after)


def _raised_by_distill(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().parent == _PACKAGE_DIR


def _standalone_options(history: History, dialect: Dialect) -> dict[str, Any]:
    options = history.settings.standalone
    kw: dict[str, Any] = {
        "version_table": options.version_table,
        "version_table_schema": options.version_table_schema,
        "version_table_pk": options.version_table_pk,
        "transaction_per_migration": options.transaction_per_migration,
    }
    if options.transactional_ddl is not None:
        kw["transactional_ddl"] = options.transactional_ddl
    return kw
