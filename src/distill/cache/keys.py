"""The keys of the render cache: every input that can change a rendering, and nothing else.

A plan's key is the digest of:

* the **base** (one per command, computed after the history loaded): the cache format; the
  versions of distill, Alembic, SQLAlchemy, sqlparse and Python; distill's settings as read and
  the bytes of env.py, alembic.ini / pyproject.toml / distill.toml; every dialect data file; the
  bytes every project module in ``sys.modules`` was imported from; what site-packages holds (its
  entries, with each distribution's version, and its loose modules' size and time); every revision
  script's bytes; distill's own source files (all of them); every other file opened while the
  scripts loaded; the working directory; and
  the **whole process environment** (env.py may read any variable: distill cannot know which, so
  a changed variable is a changed key);
* the dialect, standalone or not, the direction, the start and target heads;
* per step: the step as planned (revision, parents, dependencies, labels, merge and branch
  point), the bytes its script was loaded from (every script's bytes are in the base too: one
  script's top level, executed when the history loads, can change how another renders);
* for the start, the target and each step, a digest of its place in the graph: its own ids,
  parents, dependencies and labels and, recursively, its ancestors' (Alembic's version-table
  bookkeeping reads the ancestry of the heads; no other script's body reaches the SQL).

What a rendering opened or imported that the base does not hold (a data file read by
``upgrade()``, a module imported inside it) is listed in its entry with the digests it had, and
compared with the files as they are when the entry is read. ``None`` where a key cannot be
computed with certainty (a project module imported before distill could watch, from a file
changed since this process started): then nothing is read from or written to the cache.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from .. import __version__
from ..compat import watch
from ..resources import data_dir
from .confined import confined_modules

FORMAT = "distill-render-cache-1"
_MARGIN = 2.0  # seconds: a file changed this close to the process start may have changed after its import


def versions() -> dict[str, str | None]:
    """The versions of what renders (tests replace this to simulate an upgrade)."""
    # the interpreter's flags too: -O compiles revision scripts without their asserts and
    # `if __debug__:` blocks (-OO without docstrings), and is no environment variable
    return {"distill": __version__, "alembic": _version("alembic"), "sqlalchemy": _version("sqlalchemy"),
            "sqlparse": _version("sqlparse"), "python": sys.version, "platform": sys.platform,
            "flags": repr(sys.flags)}


def _version(name: str) -> str | None:
    """The version of the library ``name``: the imported module's, else its installed
    distribution's, without importing it (a whole result is found before Alembic is imported).
    Where the two differ (a checkout on sys.path beside another version installed), its modules
    are project modules, keyed by their bytes in every whole result's dependencies."""
    module = sys.modules.get(name)
    found = getattr(module, "__version__", None)
    if isinstance(found, str):
        return found
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _process_start() -> float | None:
    """When this process started (Linux: /proc), in seconds since the epoch; None elsewhere."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


_PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")  # distill/


@functools.lru_cache(maxsize=65536)
def keyed_module(path: str) -> bool:
    """Whether a module file is a project module, keyed by what it holds: not the standard
    library's (keyed by the Python version), not site-packages' (``site_packages``), not distill's
    own (keyed as a whole)."""
    return not (watch.is_standard_library(path) or watch.in_site_packages(path)
                or os.path.abspath(path).startswith(_PACKAGE))


def site_packages() -> dict[str, list]:
    """What is installed: each site-packages folder's entries (a distribution's ``.dist-info``
    names it with its version) and the size and time of the loose modules and ``.pth`` files
    there. A file of an installed package edited in place, without reinstalling, is not seen
    (the README says so)."""
    found: dict[str, list] = {}
    for root in watch.SITE_PACKAGES:
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue
        entries: list = []
        for name in names:
            if name.endswith((".py", ".pth")):
                with contextlib.suppress(OSError):
                    stat = os.stat(os.path.join(root, name))
                    entries.append([name, stat.st_size, stat.st_mtime_ns])
                    continue
            entries.append(name)
        found[root] = entries
    return found


def distill_source() -> str:
    """A digest of every source file of the distill package (whichever of them are imported)."""
    digest = hashlib.blake2b(digest_size=20)
    for root, folders, files in os.walk(_PACKAGE):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(f for f in files if f.endswith((".py", ".json"))):
            path = os.path.join(root, name)
            digest.update(f"{os.path.relpath(path, _PACKAGE)}\0{watch.file_digest(path)}\0".encode())
    return digest.hexdigest()


def module_signature(path: str) -> str | None:
    """What a loaded project module is keyed by: the bytes it was executed from, if distill
    watched it load; else, for a file older than this process, its bytes now; else None (it may
    have changed since it was imported: not certain)."""
    found = watch.executed(path)
    if found is not None:
        return found
    started = _started()
    try:
        older = started is not None and os.stat(path).st_mtime < started - _MARGIN
    except OSError:
        return None
    return watch.file_digest(path) if older else None


@functools.lru_cache(maxsize=1)
def _started() -> float | None:
    return _process_start()


def module_state() -> dict[str, str] | None:
    """Source path -> digest of the bytes it was imported from, for every project module loaded
    now (distill's own package is ``distill_source``); None if one of them cannot be known for
    certain."""
    state: dict[str, str] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not keyed_module(path):
            continue
        found = module_signature(path)
        if found is None:
            return None
        state[os.path.abspath(path)] = found
    return state


def module_folders(modules: dict[str, str]) -> dict[str, list[str] | None]:
    """What the folders of the project modules hold, and the project's folders on sys.path (not
    the standard library's, not site-packages): a module file added there can change which file
    an import finds (a fallback import that now succeeds, a module that shadows another)."""
    folders = {os.path.dirname(path) for path in modules}
    on_path = {os.path.abspath(entry or ".") for entry in sys.path}
    folders |= {folder for folder in on_path
                if os.path.isdir(folder) and keyed_module(os.path.join(folder, "x.py"))}
    return {folder: watch.listing(folder) for folder in sorted(folders)}


def config_files(settings: Any, *more: str) -> dict[str, str | None]:
    """The bytes of the configuration distill reads (alembic.ini, pyproject.toml, distill.toml)
    and of ``more`` files, by absolute path."""
    paths = {settings.alembic_config_path, settings.root / "pyproject.toml", settings.root / "distill.toml",
             *more}
    return {os.path.abspath(path): watch.file_digest(path) for path in sorted(map(str, paths))}


def dialect_files() -> dict[str, str | None]:
    folder = data_dir("dialects")
    return {path.name: watch.file_digest(str(path)) for path in sorted(folder.glob("*.toml"))}


def base_digest(history: Any, known_imports: Any = None) -> tuple[
        str, dict[str, str], dict[str, str | None], dict[str, str], dict[str, str]] | None:
    """(the base digest, the project modules loaded, the files it depends on with their digests,
    per script path the digest of the confined modules it reaches: ``confined``, and those
    modules with their digests), or None if it is not certain. The base holds every project
    module but the confined ones. ``known_imports``: ``confined_modules``'s ``known``."""
    modules = module_state()
    if modules is None:
        return None
    env_py = os.path.join(history.script.dir, "env.py")
    reached = confined_modules(modules, sorted(history.script_paths), env_py, known_imports)
    confined = set().union(*reached.values())
    per_script = {script: digest_of(sorted((path, modules[path]) for path in found))
                  for script, found in reached.items()}
    config = config_files(history.settings, env_py)
    shipped = tuple(os.path.join(str(data_dir(name)), "") for name in ("dialects", "templates"))
    loaded = {path: watch.file_digest(path) for path in sorted(history.loaded_files)
              if path not in modules and path not in config and path not in history.script_paths
              and not path.endswith(".pyc") and not path.startswith((_PACKAGE, *shipped))}
    # every revision script's top level: Alembic executes them all to load the history, and one's
    # can change how others render (a @compiles hook, an event listener, a patched type)
    scripts = {path: top_level_digest(path) for path in sorted(history.script_paths)}
    if None in scripts.values():
        return None
    parts = {"format": FORMAT, "versions": versions(), "distill": distill_source(), "scripts": scripts,
             "site_packages": site_packages(),
             "settings": repr(history.settings), "config": config, "dialects": dialect_files(),
             "modules": {path: found for path, found in modules.items() if path not in confined},
             "loaded": loaded, "cwd": os.getcwd(), "environ": sorted(os.environ.items())}
    from .. import alembic_compat as compat  # imported: the history loaded

    # a whole result is found before Alembic is imported (or checked): the bytes the compatibility
    # check and its warning were read from are among its dependencies
    library = compat.checked_sources()
    if library is None:
        return None
    files = {**modules, **config, **loaded, **library,
             **{path: script_digest(path) for path in sorted(history.script_paths)}}
    return digest_of(parts), modules, files, per_script, {path: modules[path] for path in sorted(confined)}


def digest_of(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def graph_digests(history: Any) -> dict[str, str]:
    """Revision -> digest of its place in the graph (ids, parents, dependencies, labels, and its
    ancestors' digests), computed once per history, parents first."""
    rmap = history.script.revision_map
    from .. import alembic_compat as compat  # here: a whole result is found before Alembic is imported

    parents = compat.parent_table(rmap)
    done: dict[str, str] = {}
    for revision in parents:
        stack = [revision]
        while stack:
            current = stack[-1]
            if current in done:
                stack.pop()
                continue
            missing = [p for p in parents.get(current, ()) if p not in done and p in parents]
            if missing:
                stack.extend(missing)
                continue
            script = history.get(current)
            own = [current, list(compat.declared_parents(script)), list(parents.get(current, ())),
                   sorted(script.branch_labels or ()), [done.get(p, p) for p in parents.get(current, ())]]
            done[current] = digest_of(own)
            stack.pop()
    return done


def combined(*parts: str) -> str:
    """One key made of several: joined after a NUL, by NULs, where none holds one (keys are hex
    digits, reprs escape it; 3,000 per check), else as JSON (which never holds a raw NUL)."""
    if any("\0" in part for part in parts):
        return digest_of(list(parts))
    text = "\0" + "\0".join(parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


# the functions a step runs; their bodies run only when their own step renders (and that step's
# key holds its script's bytes), every other line of a script runs when the history loads
_STEP_FUNCTION = re.compile(r"def (upgrade|downgrade)(_\w+)?\s*\(")


def top_level_digest(path: str) -> str | None:
    """A digest of what loading the script runs: its text without the bodies of its upgrade and
    downgrade functions (``def`` lines kept: their defaults run at import). Read line by line: a
    line the reading cannot place stays in, so the digest holds more, never less. None if the
    script changed since it was loaded."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if watch.executed(path) not in (None, watch.digest_bytes(data)):
        return None
    kept, in_body = [], False
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        if in_body and (not line.strip() or line[0] in " \t#"):
            continue  # indented, blank, or a comment: still the body
        in_body = _STEP_FUNCTION.match(line) is not None and line.rstrip().endswith(":")
        kept.append(line)
    return watch.digest_bytes("\n".join(kept).encode("utf-8", "surrogateescape"))


def script_digest(path: str) -> str | None:
    """The bytes a revision script was loaded from (as executed, else as it is now)."""
    return watch.executed(path) or watch.file_digest(path)


def step_part(graph: dict[str, str], scripts: dict[str, str | None], step: Any) -> str:
    """What a plan's key holds of one of its steps (``scripts``: revision -> ``script_digest``)."""
    return f"{step!r}\0{scripts[step.revision]}\0{graph.get(step.revision)}"


def plan_key(base: str, graph: dict[str, str], plan: Any, dialect: str, standalone: bool,
             steps: Iterable[str]) -> str:
    """The key of one plan's rendering (``steps``: the ``step_part`` of each of its steps): its
    parts hashed in order, each ended by a NUL (no part holds one: reprs escape it, ids are
    checked)."""
    parts = [base, dialect, str(standalone), plan.direction, "start",
             *(f"{r}\0{graph.get(r)}" for r in plan.start), "target",
             *(f"{r}\0{graph.get(r)}" for r in plan.target), "steps", *steps]
    return hashlib.blake2b("\0".join(parts).encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
