"""Which Alembic operation a failure happened in, and where the revision asked for it.

A failing ``op.add_column(...)`` shows in the traceback as ``AbstractOperations.invoke`` with the
operation object in its locals. Inside ``with op.batch_alter_table(...)``, operations are only queued and run
when the block ends, so the traceback points at the ``with``: the patched ``invoke`` notes where
each queued operation was asked for, and ``failed_operation`` finds it again from the entry
``BatchOperationsImpl.flush`` was running.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import alembic
import sqlalchemy
from alembic.operations.base import AbstractOperations
from alembic.operations.batch import ApplyBatchImpl, BatchOperationsImpl
from sqlalchemy.engine.mock import MockConnection
from sqlalchemy.exc import CompileError, UnsupportedCompilationError

# each library's folder as frames and warnings name it (the path it was imported by, say through a
# symlinked virtualenv) and resolved
_LIBRARIES = tuple(sorted({str(path) for m in (alembic, sqlalchemy)
                           for path in (Path(m.__file__).parent, Path(m.__file__).resolve().parent)}))
_ALEMBIC = tuple(p for p in _LIBRARIES if Path(p).name == "alembic")
_ORIGINAL_INVOKE = getattr(AbstractOperations, "invoke", None)  # None: gone (fingerprints)


def _caller() -> tuple[str, int] | None:
    """(file, line) of the innermost frame outside Alembic, SQLAlchemy and this module (and
    outside the ``<string>`` proxies Alembic generates for ``batch_op.*``)."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((*_LIBRARIES, "<")) and filename != __file__:
            return filename, frame.f_lineno
        frame = frame.f_back
    return None


def invoke_noting_origin(self: AbstractOperations, operation: Any) -> Any:
    """``AbstractOperations.invoke``; inside a batch block, also notes where each queued entry
    came from."""
    impl = self.impl
    if not isinstance(impl, BatchOperationsImpl):
        return _ORIGINAL_INVOKE(self, operation)
    queued = len(impl.batch)
    result = _ORIGINAL_INVOKE(self, operation)
    origin = _caller()
    origins = impl.__dict__.setdefault("distill_origins", {})
    for _name, args, _kw in impl.batch[queued:]:
        origins[id(args)] = (operation, origin)
    return result


@dataclass(frozen=True)
class FailedOperation:
    """What a traceback says about the Alembic operation that failed."""

    operation: Any = None  # the MigrateOperation (AddColumnOp, ...) being run, if any
    in_batch: bool = False  # raised while a batch_alter_table block was applied
    batch_reflects: bool = False  # raised where batch mode must reflect the table (no copy_from)
    origin: tuple[str, int] | None = None  # inside a batch block: where the revision queued it

    @property
    def name(self) -> str:
        """The op function it came from: AddColumnOp -> "add_column"."""
        if self.operation is None:
            return ""
        words, current = [], ""
        for char in type(self.operation).__name__.removesuffix("Op"):
            if char.isupper() and current:
                words.append(current)
                current = ""
            current += char.lower()
        return "_".join([*words, current])

    def columns(self) -> list[Any]:
        """The columns the operation defines or changes (Column objects)."""
        op = self.operation
        found = [getattr(op, "column", None), *getattr(op, "columns", ())]
        return [c for c in found if isinstance(c, sqlalchemy.Column)]


def failed_operation(tb: TracebackType | None) -> FailedOperation:
    """The operation a traceback went through, innermost last."""
    operation, origin, in_batch, reflects = None, None, False, False
    frames = list(traceback.walk_tb(tb))
    for position, (frame, _line) in enumerate(frames):
        code = frame.f_code
        if code is getattr(_ORIGINAL_INVOKE, "__code__", None):
            operation = frame.f_locals.get("operation")
        elif code is BatchOperationsImpl.flush.__code__:
            in_batch = True
            local = frame.f_locals
            noted = getattr(local.get("self"), "distill_origins", {})
            inner = frames[position + 1][0].f_code if position + 1 < len(frames) else None
            # recreating the table (_create) is the whole block's doing, not one entry's
            if "arg" in local and id(local["arg"]) in noted and inner is not ApplyBatchImpl._create.__code__:
                operation, origin = noted[id(local["arg"])]
            reflects = inner is None and "arg" not in local
    return FailedOperation(operation, in_batch, reflects, origin)


def raised_by_inspection(tb: TracebackType | None) -> bool:
    """True when the failure happened inside SQLAlchemy's inspector (``sa.inspect(bind)``): under
    SQLAlchemy 1.4 it raises AttributeError on the offline connection, not NoInspectionAvailable."""
    return any(Path(frame.f_code.co_filename).match("*/sqlalchemy/engine/reflection.py")
               for frame, _ in traceback.walk_tb(tb))


def unsupported_type(exc: BaseException) -> type | None:
    """The SQL type a compiler could not render, from ``exc`` or what it was raised from."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UnsupportedCompilationError):
            return seen.element_type if isinstance(seen.element_type, type) else type(seen.element_type)
        seen = seen.__cause__ or seen.__context__
    return None


def unrenderable_literal(exc: BaseException) -> tuple[Any, Any, str] | None:
    """(value, SQL type, column name or "") of the value SQLAlchemy's compiler could not write as
    a literal (``SQLCompiler.render_literal_value`` raised ``exc``), or None. The column is known
    for a value of an INSERT or UPDATE (``crud._append_param_parameter``)."""
    if not isinstance(exc, CompileError):
        return None
    found, name = None, ""
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        code, local, path = frame.f_code, frame.f_locals, Path(frame.f_code.co_filename)
        if path.match("*/sqlalchemy/sql/crud.py") and code.co_name == "_append_param_parameter":
            name = str(getattr(local.get("c"), "name", "") or "")
        elif path.match("*/sqlalchemy/sql/compiler.py") and code.co_name == "render_literal_value":
            found = (local.get("value"), local.get("type_"))
    return None if found is None else (*found, name)


def warned_by_alembic(filename: str) -> bool:
    """True for a warning issued from inside Alembic's package."""
    return filename.startswith(_ALEMBIC)


def is_offline_connection(value: Any) -> bool:
    """True for what ``op.get_bind()`` returns in offline mode."""
    return isinstance(value, MockConnection)


class ResultUsed(Exception):
    """A revision used the result of a statement it ran through ``op.get_bind().execute()``
    offline, where the statement is written to the output and never run: there is no result."""

    def __init__(self, what: str, origin: tuple[str, int] | None, used_at: tuple[str, int] | None) -> None:
        line = f" at line {origin[1]}" if origin else ""
        super().__init__(f"{what} of the statement executed{line}, which offline is written, not run")
        self.what, self.origin, self.used_at = what, origin, used_at


class OfflineResult:
    """What ``op.get_bind().execute()`` returns offline instead of None: any use of it (truth,
    ``rowcount``, iteration, ``fetch*``, ``scalar*``, any attribute) raises ResultUsed and is
    noted, so a loop "until rowcount is 0" cannot end after one pass on a made-up value. Closing
    it, ``with`` and ``repr`` are no use."""

    __slots__ = ("_origin", "_on_use")

    def __init__(self, origin: tuple[str, int] | None, on_use: Any) -> None:
        object.__setattr__(self, "_origin", origin)
        object.__setattr__(self, "_on_use", on_use)

    def _used(self, what: str) -> ResultUsed:
        error = ResultUsed(what, self._origin, _caller())
        self._on_use(error)
        return error

    def __getattr__(self, name: str) -> Any:
        raise self._used(f"its .{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise self._used(f"its .{name}")

    def __bool__(self) -> bool:
        raise self._used("its truth value")

    def __iter__(self) -> Any:
        raise self._used("its rows")

    def __next__(self) -> Any:
        raise self._used("its rows")

    def __len__(self) -> int:
        raise self._used("its length")

    def __getitem__(self, key: Any) -> Any:
        raise self._used("its rows")

    def __contains__(self, item: Any) -> bool:
        raise self._used("its rows")

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> OfflineResult:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def __repr__(self) -> str:
        line = f" at line {self._origin[1]}" if self._origin else ""
        return f"<offline result of the statement executed{line}: no rows, written not run>"


def offline_bind_results(migration_context: Any, on_use: Any) -> None:
    """Offline, ``op.get_bind().execute()`` writes the statement and returns an OfflineResult,
    whose use raises ResultUsed and calls ``on_use(error)`` (a use the revision swallowed is
    still known)."""
    connection = migration_context.impl.connection
    if not isinstance(connection, MockConnection):
        return
    execute = connection.execute

    def counted(*args: Any, **kw: Any) -> Any:
        origin = _caller()
        execute(*args, **kw)
        return OfflineResult(origin, on_use)

    connection.execute = counted
