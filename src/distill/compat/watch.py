"""Watching what loading and rendering read, for the render cache's keys (``distill.cache``).

Two hooks into the standard library, both active only inside ``watching()`` (distill loading or
rendering the revision scripts):

* ``SourceFileLoader.exec_module``, replaced while watching, notes the digest of each module
  source it is about to execute (``executed``): the bytes a module was imported from, not the
  bytes its file holds later. A module imported outside (before distill loaded the scripts) is
  not noted; the cache's keys treat it as uncertain (``cache.keys``).
* an audit hook (``sys.addaudithook``) notes every file opened while watching: opened to read
  (``opened``), or opened to write (``writes``: a rendering with side effects). Python cannot
  remove an audit hook: it is added once (``install``) and does nothing outside ``watching()``.

Files of the Python installation, the environment and site-packages are never noted (their
versions are keyed instead).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.machinery
import os
import site
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from .stdlib import loader_method_replaced

_EXECUTED: dict[str, str] = {}  # absolute source path -> digest of the bytes executed
_OPENED: set[str] = set()  # absolute paths opened to read while watching (cumulative)
_STATE = {"watching": 0, "writes": 0, "installed": False}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_TEMP = os.path.abspath(tempfile.gettempdir())  # a temporary directory, or a file in it
_TEMP_IN = os.path.join(_TEMP, "")


def _installed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    with contextlib.suppress(Exception):
        roots |= set(site.getsitepackages())
    with contextlib.suppress(Exception):
        roots.add(site.getusersitepackages())
    return tuple(sorted({os.path.join(os.path.realpath(r), "") for r in roots if r}))


INSTALLED = _installed_roots()


@functools.lru_cache(maxsize=65536)
def is_installed(path: str) -> bool:
    """Whether ``path`` belongs to the Python installation, the environment or site-packages."""
    real = os.path.realpath(path)
    return real.startswith(INSTALLED) or real.startswith(("/dev/", "/proc/", "/sys/"))


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def file_digest(path: str) -> str | None:
    """The digest of the file's bytes now; None if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return digest_bytes(handle.read())
    except OSError:
        return None


def _note_source(path: Any) -> None:
    if isinstance(path, str) and not is_installed(path):
        found = file_digest(path)
        if found is not None:
            _EXECUTED[os.path.abspath(path)] = found


def _audit(event: str, args: tuple) -> None:
    if event != "open" or not _STATE["watching"]:
        return
    path, mode, flags = args
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return  # a file descriptor: opened before, by whoever holds it
    writing = (mode is None and flags & _WRITE_FLAGS) or (mode is not None and any(c in mode for c in "wax+"))
    if writing:  # not the import system's bytecode cache, not a temporary file (distill's own too)
        where = os.path.abspath(path)
        if os.sep + "__pycache__" + os.sep not in path and where != _TEMP and not where.startswith(_TEMP_IN):
            _STATE["writes"] += 1
    elif not is_installed(path):
        _OPENED.add(os.path.abspath(path))


def install() -> None:
    """Add the audit hook (once per process; it notes nothing outside ``watching()``)."""
    if _STATE["installed"]:
        return
    _STATE["installed"] = True
    sys.addaudithook(_audit)


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """While inside, files opened and module sources executed are noted (re-entrant: the
    loader is replaced by the outermost one only)."""
    install()
    _STATE["watching"] += 1
    try:
        if _STATE["watching"] > 1:
            yield
            return
        run = importlib.machinery.SourceFileLoader.exec_module

        def exec_module(self: Any, module: Any) -> None:
            _note_source(getattr(self, "path", None))
            run(self, module)

        with loader_method_replaced("exec_module", exec_module):
            yield
    finally:
        _STATE["watching"] -= 1


def executed(path: str) -> str | None:
    """The digest of the bytes the module at ``path`` was last executed from, if seen."""
    return _EXECUTED.get(os.path.abspath(path))


def opened() -> set[str]:
    """Every file opened to read while watching, in this process so far."""
    return set(_OPENED)


def writes() -> int:
    """How many times a file was opened to write while watching, in this process so far."""
    return _STATE["writes"]
