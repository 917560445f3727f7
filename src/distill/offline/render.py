"""Offline rendering: the planned steps as SQL for one dialect, captured step by step.

Two environment modes:

* project (default): the project's env.py runs, with ``context.configure`` wrapped so that it
  renders offline for the chosen dialect into distill's buffer; everything else env.py configures
  (version table, naming conventions via target_metadata, transaction_per_migration) is kept.
* standalone: env.py never runs; the options come from ``[tool.distill]``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.runtime.environment import EnvironmentContext

from .. import alembic_compat as compat
from .. import workers
from ..compat import compiled_code_from, warnings_captured
from ..dialects import Dialect
from ..errors import DistillError
from ..history.plan import Plan
from ..history.scripts import History, display_revisions
from ..names import check_table_name
from ..shadow import ShadowDatabase, ShadowError, tables_read
from ..statements.findings import DATA_DEPENDENT, WARNING, annotation
from ..statements.formatting import FormatStats, Formatter
from ..statements.literals import literals_kept, version_table_create
from ..statements.model import COMMENT, SQL, Statement, VersionTable
from .capture import (
    PrintedNotes,
    Segment,
    StatementCapture,
    log_records_as_notes,
)
from .causes import one_line
from .diagnose import render_failure
from .shadow_plans import catch_up_plans, heads_after


@dataclass
class Rendering:
    """The SQL of one plan in one dialect: run-level and per-step segments, in output order."""

    dialect: Dialect
    plan: Plan
    segments: list[Segment]
    version_table: VersionTable
    heads_after: list[tuple[str, ...]]
    shadow: dict[str, Any] | None = None  # what it was rendered against (None: offline)

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
        """A copy with every segment's statements passed through ``change``, in output order."""
        segments = [Segment(seg.step, change(seg.statements)) for seg in self.segments]
        return dataclasses.replace(self, segments=segments)

    def formatted(self, style: str,
                  on_step: Callable[[], None] | None = None) -> tuple[Rendering, FormatStats]:
        """A copy with every statement formatted, and the counts; ``on_step`` is called after each
        step's statements."""
        formatter = Formatter(self.dialect, style)
        segments = formatted_segments(formatter, self.segments, on_step)
        return dataclasses.replace(self, segments=segments), formatter.stats


def formatted_segments(formatter: Formatter, segments: list[Segment],
                       on_step: Callable[[], None] | None = None) -> list[Segment]:
    """``segments`` with every statement formatted; ``on_step`` is called after each step's."""
    out = []
    for seg in segments:
        out.append(Segment(seg.step, formatter.statements(seg.statements)))
        if on_step is not None and seg.step is not None:
            on_step()
    return out


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
def quiet_alembic() -> Iterator[None]:
    """env.py's fileConfig() turns Alembic's INFO logs on; they are noise next to the SQL. The
    level is set to WARNING when configure() runs and put back afterwards."""
    logger = logging.getLogger("alembic")
    level = logger.level
    try:
        yield
    finally:
        logger.setLevel(level)


def _version_table(context: Any, dialect: Dialect) -> VersionTable:
    """The version table as the configured context will write it."""
    table = compat.version_table_of(context)
    check_table_name(table.name, "the version table (env.py's or [tool.distill]'s version_table)")
    if table.schema is not None:
        check_table_name(table.schema, "the version table's schema (version_table_schema)")
    sql_dialect = context.impl.dialect
    quoted = sql_dialect.identifier_preparer.format_table(table)
    plain = literals_kept(str(sa.schema.CreateTable(table).compile(dialect=sql_dialect)), dialect).strip()
    return VersionTable(table.name, table.schema, quoted, version_table_create(plain, quoted, dialect))


class _Run:
    """One offline run of a plan: the environment, the capture and what configure() learnt."""

    def __init__(self, history: History, plan: Plan, dialect: Dialect, skip: dict[str, Statement],
                 on_step: Callable[[], None] | None, shadow: ShadowDatabase | None = None) -> None:
        self.history, self.plan, self.dialect, self.skip, self.on_step = history, plan, dialect, skip, on_step
        self.capture = StatementCapture(dialect.batch_separator, dialect.comment)
        self.version_tables: list[VersionTable] = []
        self.shadow = shadow
        self.links: list[Any] = []
        self.read: set[str] = set()  # application tables the current step read from the shadow
        history.config.set_main_option("sqlalchemy.url", f"{dialect.sqlalchemy_dialect}://")
        self.env = EnvironmentContext(
            history.config, history.script, fn=self.steps, as_sql=True, starting_rev=plan.start or None,
            destination_rev=",".join(plan.target) or "base", tag=None)

    def steps(self, heads, context) -> Iterator[Any]:
        for index, migration_step in enumerate(self.plan.migration_steps):
            self.capture.start_step(index)
            workers.doing(lambda step=self.plan.steps[index]: f"revision {step.label} ({step.script_path})")
            note = self.skip.get(migration_step.revision.revision)
            yield migration_step if note is None else compat.skipped_step(
                migration_step, lambda note=note, **_: self.capture.add(note))

    def on_step_end(self, heads: set[str], **_: Any) -> None:
        if self.capture.result_used is not None:  # used, and the error swallowed by the revision
            raise self.capture.result_used
        if self.read and self.shadow is not None:  # below Alembic's "Running ..." comment
            statements = self.capture.segments[-1].statements
            first = next((i for i, s in enumerate(statements) if s.kind != COMMENT), len(statements))
            statements.insert(first, annotation(
                self.dialect, DATA_DEPENDENT,
                f"rendered from the rows of {', '.join(sorted(self.read))} in {self.shadow.description}"))
        self.read = set()
        self.capture.end_step(tuple(sorted(heads)))
        if self.on_step is not None:
            self.on_step()

    def on_warning(self, message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        """A Python warning issued while rendering: a finding of the step it was issued in."""
        found = annotation(self.dialect, WARNING, f"{category.__name__}: {one_line(str(message))}")
        if found not in self.capture.segments[-1].statements:
            self.capture.add(found)

    def configure(self, original: Callable[..., None], **kw: Any) -> None:
        logging.getLogger("alembic").setLevel(logging.WARNING)
        original(**_forced_options(kw, self.dialect, self.capture, self.on_step_end))
        context = self.env.get_context()
        compat.patch_context(context, self.dialect)
        compat.offline_bind_results(context, self.capture.note_result_used)
        self.version_tables.append(_version_table(context, self.dialect))
        if self.shadow is not None:
            self._attach_shadow(context)

    def _attach_shadow(self, context: Any) -> None:
        shadow, table = self.shadow, self.version_tables[-1]
        if not shadow.verified:  # a --shadow-url database: is it where the range starts?
            found = shadow.heads(table.sql)
            if found != shadow.at:
                raise ShadowError(f"the --shadow-url database is at {display_revisions(found)}, but the "
                                  f"range starts at {display_revisions(shadow.at)}: upgrade it there first")
            shadow.verified = True
        elif not self.plan.start:  # from base: the rendering creates the version table (another
            # root's line may have made it: stamp() writes its rows again where a plan needs them)
            shadow.drop_version_table(table.name, table.schema, table.sql, empty=shadow.at == ())
        else:
            shadow.stamp(table.name, table.schema, table.sql, table.create, tuple(sorted(self.plan.start)))

        def on_read(sql: str) -> None:
            if self.capture.current_step is not None:
                self.read |= tables_read(sql, self.dialect, table.name)

        link = compat.ShadowLink(  # on_stand_in: the statement just written ran in another form
            shadow.connection, self.dialect, on_read, stand_in=shadow.stand_in,
            on_stand_in=lambda note: self.capture.add_above_last(annotation(self.dialect, WARNING, note)),
            transactions=shadow.transactions)
        compat.attach_shadow(self.env, context, link, context.impl.distill_output)
        self.links.append(link)

    def run(self, standalone: bool) -> None:
        if standalone:
            self.configure(self.env.configure, **self.history.settings.standalone_options())
            with self.env.begin_transaction():
                self.env.run_migrations()
        else:
            with compiled_code_from(_env_code):
                compat.run_env(self.env, self.history.script, self.configure)


_COMPILED: dict[tuple[str, bytes], Any] = {}  # (path, source bytes) -> code: env.py, every rendering


def _env_code(data: bytes, path: str) -> Any:
    """The code object of ``data`` from ``path``, compiled once per process as the loader would
    (Alembic executes env.py afresh for each rendering; compiling it was 0.3 ms a time)."""
    key = (path, data)
    if key not in _COMPILED:
        if len(_COMPILED) > 64:  # a handful of env.py files at most; never grow without bound
            _COMPILED.clear()
        _COMPILED[key] = compile(data, path, "exec", dont_inherit=True, optimize=-1)
    return _COMPILED[key]


def render(history: History, plan: Plan, dialect: Dialect, *, standalone: bool = False,
           skip: dict[str, Statement] | None = None,
           on_step: Callable[[], None] | None = None, shadow: ShadowDatabase | None = None) -> Rendering:
    """Render ``plan`` for ``dialect``: without a database, or against ``shadow`` (first brought
    to where the plan starts). Raises OfflineRenderError.

    ``skip`` maps revisions whose migration function must not run to the note written instead.
    """
    for catch_up in catch_up_plans(history, shadow.at, plan) if shadow is not None else ():
        # its SQL is not wanted: only the shadow's state (a --shadow-url copy, at the bundle's
        # start, is checked there by the catch-up itself before a downgrade renders against it)
        render(history, catch_up, dialect, standalone=standalone, shadow=shadow)
    run = _Run(history, plan, dialect, skip or {}, on_step, shadow)
    notes = PrintedNotes(run.capture, dialect.comment)
    try:
        with quiet_alembic(), compat.alembic_patched(), compat.process_kept(), \
                contextlib.redirect_stdout(notes), log_records_as_notes(notes), \
                warnings_captured(run.on_warning), run.env:
            run.run(standalone)
            notes.flush()
    except (Exception, SystemExit) as exc:  # a revision's sys.exit() or os._exit() too
        if isinstance(exc, compat.CannotRender) and run.capture.current_step is not None:
            step = plan.steps[run.capture.current_step]
            raise DistillError(f"{step.script_path}: revision {step.revision}: a statement it sends through "
                               f"the shadow connection cannot be written as SQL: {exc}") from None
        failure = render_failure(exc, history, plan, run.capture.current_step, dialect, shadow=shadow)
        if failure is None:
            raise  # distill's own exit (SIGTERM), or a bug in distill: keep the traceback
        raise failure from None
    finally:
        for link in run.links:
            compat.detach_shadow(link)
    if shadow is not None:
        shadow.at = heads_after(history, shadow.at, plan)
    return Rendering(dialect=dialect, plan=plan, segments=run.capture.result(),
                     version_table=run.version_tables[-1], heads_after=run.capture.heads_after,
                     shadow=None if shadow is None else shadow.record)

