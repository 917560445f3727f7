"""The standard library patches (see the package docstring), each undone on the way out."""

from __future__ import annotations

import contextlib
import importlib.machinery
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

_Loader = importlib.machinery.SourceFileLoader
_RecordHandler = Callable[[Callable[[], None], logging.LogRecord], None]


@contextlib.contextmanager
def log_records_through(handle_record: _RecordHandler) -> Iterator[None]:
    """While inside, every log record goes through ``handle_record(run_the_handlers, record)``."""
    original = logging.Logger.callHandlers

    def call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
        handle_record(lambda: original(logger, record), record)

    logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]
    try:
        yield
    finally:
        logging.Logger.callHandlers = original  # type: ignore[method-assign]


_QUIET_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextlib.contextmanager
def warnings_captured(on_warning: Callable[..., None]) -> Iterator[None]:
    """While inside, Python warnings go to ``on_warning`` (``warnings.showwarning``'s arguments)
    instead of stderr, every time they are issued (not once per place: each rendering must see the
    same), except the kinds Python hides by default."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for category in _QUIET_WARNINGS:
            warnings.simplefilter("ignore", category)
        warnings.showwarning = on_warning
        yield


@contextlib.contextmanager
def loader_method_replaced(name: str, replacement: Callable[..., Any]) -> Iterator[None]:
    """``SourceFileLoader.<name>`` replaced while inside; its own (or none: inherited) after."""
    original = _Loader.__dict__.get(name)
    setattr(_Loader, name, replacement)
    try:
        yield
    finally:
        if original is None:
            delattr(_Loader, name)
        else:
            setattr(_Loader, name, original)


def loads_observed(on_loaded: Callable[[str], None]) -> contextlib.AbstractContextManager[None]:
    """While inside, ``on_loaded(path)`` after the import system executes each source file
    (Alembic executes each revision script through importlib's file loaders)."""
    run = _Loader.exec_module

    def exec_module(self: Any, module: Any) -> None:
        run(self, module)
        on_loaded(self.path)

    return loader_method_replaced("exec_module", exec_module)


def compiled_code_from(code_for: Callable[[bytes, str], Any]) -> contextlib.AbstractContextManager[None]:
    """While inside, the loader asks ``code_for(source_bytes, path)`` for a code object before it
    compiles a source file itself (None: it compiles as before)."""
    def source_to_code(self: Any, data: bytes, path: str, *, _optimize: int = -1) -> Any:
        code = code_for(data, path) if _optimize == -1 else None
        if code is None:
            code = super(_Loader, self).source_to_code(data, path, _optimize=_optimize)
        return code

    return loader_method_replaced("source_to_code", source_to_code)
