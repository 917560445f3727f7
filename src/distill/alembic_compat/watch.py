"""Watching what loading and rendering read, for the render cache's keys (``distill.cache``).

Two process-wide hooks into the standard library, installed once (``install``) and never removed:

* ``SourceFileLoader.exec_module`` notes the digest of each module source it is about to execute
  (``executed``): the bytes a module was imported from, not the bytes its file holds later.
* an audit hook (``sys.addaudithook``) notes every file opened while ``watching()`` is on:
  opened to read (``opened``), or opened to write (``writes``: a rendering with side effects).

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
    """Install both hooks (once per process)."""
    if _STATE["installed"]:
        return
    _STATE["installed"] = True
    sys.addaudithook(_audit)
    loader = importlib.machinery.SourceFileLoader
    original = loader.exec_module

    def exec_module(self, module) -> None:  # noqa: ANN001 - importlib's signature
        _note_source(getattr(self, "path", None))
        original(self, module)

    loader.exec_module = exec_module  # type: ignore[method-assign]


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """While inside, files opened are noted (re-entrant)."""
    _STATE["watching"] += 1
    try:
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
