"""Watching what loading and rendering read, for the render cache's keys (``distill.cache``).

Two hooks into the standard library, both active only inside ``watching()`` (distill loading or
rendering the revision scripts):

* ``SourceFileLoader.exec_module``, replaced while watching, notes the digest of each module
  source it is about to execute (``executed``): the bytes a module was imported from, not the
  bytes its file holds later. A module imported outside (before distill loaded the scripts) is
  not noted; the cache's keys treat it as uncertain (``cache.keys``).
* an audit hook (``sys.addaudithook``) notes every file opened while watching: opened to read
  (``opened_since``), or opened to write (``writes``: a rendering with side effects). Python cannot
  remove an audit hook: it is added once (``install``) and does nothing outside ``watching()``.

Files of the standard library are never noted (the Python version is keyed instead); files of
site-packages and of the project are. A folder listed while watching (``listings``) is an input
no file digest holds: a rendering that lists one is never kept. ``os.stat`` and
``os.path.exists`` raise no audit event: a rendering that only tests whether a file exists is
keyed as if it did not look (a limit the README states).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.machinery
import os
import site
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from typing import Any

from .stdlib import loader_method_replaced

_EXECUTED: dict[str, str] = {}  # absolute source path -> digest of the bytes executed
_OPENED: set[str] = set()  # absolute paths opened to read while watching (cumulative)
_OPENED_IN_ORDER: list[str] = []  # the same, in the order first opened
_LISTED: list[str] = []  # absolute paths of the folders listed while watching, in order (cumulative)
_STATE = {"watching": 0, "writes": 0, "listings": 0, "installed": False}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_TEMP = os.path.abspath(tempfile.gettempdir())  # a temporary directory, or a file in it
_TEMP_IN = os.path.join(_TEMP, "")


def _roots(paths) -> tuple[str, ...]:
    return tuple(sorted({os.path.join(os.path.realpath(p), "") for p in paths if p}))


def _site_roots() -> tuple[str, ...]:
    paths = {sysconfig.get_paths().get("purelib"), sysconfig.get_paths().get("platlib")}
    with contextlib.suppress(Exception):
        paths |= set(site.getsitepackages())
    with contextlib.suppress(Exception):
        paths.add(site.getusersitepackages())
    return _roots(paths)


# the standard library's folders hold site-packages in an installation without a venv: a file is
# the standard library's when it is under them and under no site-packages folder
_STDLIB = _roots({sysconfig.get_paths().get("stdlib"), sysconfig.get_paths().get("platstdlib")})
SITE_PACKAGES = _site_roots()
_SYSTEM = ("/dev/", "/proc/", "/sys/")


def _real_folder(path: str) -> str:
    """The folder of ``path``, through symbolic links, with a trailing separator."""
    return _resolved(os.path.dirname(os.path.abspath(path)))


@functools.lru_cache(maxsize=4096)
def _resolved(folder: str) -> str:
    return os.path.join(os.path.realpath(folder), "")


# Both tests below look at the file's folder first (resolving 1,000 scripts' paths one by one took
# 0.03 s of each run): a file in a folder outside them is not theirs unless it is a symbolic link,
# which is resolved (a project's link to /dev/zero is no file to digest).

@functools.lru_cache(maxsize=65536)
def is_standard_library(path: str) -> bool:
    """Whether ``path`` is a file of Python's standard library (or of /dev, /proc, /sys): what
    the Python version, keyed on its own, decides. Not site-packages, and not a project that lives
    under the installation's prefix (``/usr/local/app`` in a container image)."""
    if not _real_folder(path).startswith(_SYSTEM + _STDLIB) and not os.path.islink(path):
        return False
    real = os.path.realpath(path)
    return real.startswith(_SYSTEM) or (real.startswith(_STDLIB) and not real.startswith(SITE_PACKAGES))


@functools.lru_cache(maxsize=65536)
def in_site_packages(path: str) -> bool:
    """Whether ``path`` is a file of an installed distribution (site-packages)."""
    if not _real_folder(path).startswith(SITE_PACKAGES) and not os.path.islink(path):
        return False
    return os.path.realpath(path).startswith(SITE_PACKAGES)


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
    if isinstance(path, str) and not is_standard_library(path):
        found = file_digest(path)
        if found is not None:
            _EXECUTED[os.path.abspath(path)] = found


# the audit events of listing a folder: what a rendering finds there is an input no digest of a
# file holds (os.walk lists with os.scandir)
_LISTINGS = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.glob/2"})


def _audit(event: str, args: tuple) -> None:
    if not _STATE["watching"]:
        return
    if event in _LISTINGS:
        _note_listing(args[0] if args else ".")
        return
    if event != "open":
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
    elif not is_standard_library(path):
        where = os.path.abspath(path)
        if where not in _OPENED:
            _OPENED.add(where)
            _OPENED_IN_ORDER.append(where)


def _note_listing(path: Any) -> None:
    """A folder listed while watching, unless by the import system (it lists the folders of
    sys.path to find a module; the module itself is keyed by the bytes it ran from)."""
    caller = sys._getframe(2)  # _audit <- the listing function's caller
    if caller.f_code.co_filename.startswith("<frozen importlib"):
        return
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str) and (is_standard_library(path or ".") or in_site_packages(path or ".")):
        return
    _STATE["listings"] += 1
    _LISTED.append(os.path.abspath(path) if isinstance(path, str) else "")  # "": a descriptor


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


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """While inside, nothing is noted, even inside ``watching()``: what distill reads for itself
    (its own cache) is no input of what it watches."""
    depth, _STATE["watching"] = _STATE["watching"], 0
    try:
        yield
    finally:
        _STATE["watching"] = depth


def executed(path: str) -> str | None:
    """The digest of the bytes the module at ``path`` was last executed from, if seen."""
    return _EXECUTED.get(os.path.abspath(path))


def opened_count() -> int:
    """How many files were opened to read while watching, in this process so far (``opened_since``)."""
    return len(_OPENED_IN_ORDER)


def opened_since(count: int) -> list[str]:
    """The files first opened to read while watching after ``opened_count()`` was ``count``."""
    return _OPENED_IN_ORDER[count:]


def listings() -> int:
    """How many times a folder was listed while watching (os.listdir, os.scandir, glob), in this
    process so far, not counting the import system's own listings."""
    return _STATE["listings"]


def listed_count() -> int:
    """How many folders were listed while watching, in this process so far (``listed_since``)."""
    return len(_LISTED)


def listed_since(count: int) -> list[str]:
    """The folders listed while watching (as ``listings`` counts them) after ``listed_count()``
    was ``count``, in order ("" for a folder listed by its file descriptor)."""
    return _LISTED[count:]


def listing(folder: str) -> list[str] | None:
    """What ``folder`` holds now (sorted names, ``__pycache__`` left out: Python's bytecode cache
    changes no module); None if it cannot be listed."""
    try:
        return sorted(name for name in os.listdir(folder) if name != "__pycache__")
    except OSError:
        return None


def writes() -> int:
    """How many times a file was opened to write while watching, in this process so far."""
    return _STATE["writes"]
