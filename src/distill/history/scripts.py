"""The project's revision history: every revision script loaded (executed) once, here.

A :class:`History` answers what the rest of distill asks about scripts: the Script of a revision,
the heads, a path relative to the project, a revision's display name and the SHA-256 of its file.
What a user names is resolved by ``specs``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError

from .. import alembic_compat as compat
from ..compat import loads_observed, watch
from ..config import Settings
from ..errors import ConfigError, DistillError, ScriptLoadError, Terminated
from ..names import check_file_part, display_revisions, one_line  # noqa: F401 - display_revisions: re-exported
from ..progress import Progress
from .app_setup import run_setup
from .generations import new_generation
from .ordering import AncestorIndex
from .parallel_compile import compiled_on_second_core, script_files

_REVISION_LINE = re.compile(r"""^revision\s*(?::\s*str\s*)?=\s*['"]([^'"]+)['"]""", re.M)




class History:
    """One loaded revision history. Every revision script is executed once, here."""

    def __init__(self, settings: Settings, kept_code: Callable[[list[Path]], Any] | None = None,
                 generation: int | None = None) -> None:
        """``kept_code``: given the version folders, the code objects of their scripts kept
        before, which the load may take (the render cache's, cache/compiled.py); None: every
        script is compiled. ``generation``: which load of the project this is (``new_generation``;
        a fresh one when not given): the second rendering loads the scripts again for another."""
        self.settings = settings
        self.generation = new_generation() if generation is None else generation
        opened, writes, listed = watch.opened_count(), watch.writes(), watch.listed_count()
        with watch.watching():
            self.config = settings.alembic_config()
            self.script, self.precompiled, files, kept = _load(self.config, settings, kept_code)
        if kept is not None:  # outside the watch: the cache's own file is no side effect of loading
            kept.keep(files)
        self.loaded_files = set(watch.opened_since(opened))  # files read while loading (first time)
        self.opened_after_load = watch.opened_count()
        self.load_wrote = watch.writes() != writes  # loading wrote a file (a side effect)
        self.version_dirs = [Path(p).resolve() for p in compat.version_locations(self.script)]
        # what the folders listed while loading hold (the version locations among them), for the
        # render cache: None when a script was added or removed while the history loaded
        folders = sorted(set(watch.listed_since(listed)))
        self.loaded_listings: dict[str, list[str] | None] | None = {
            folder: watch.listing(folder) if folder else None for folder in folders}
        if script_files(self.version_dirs, self.script.recursive_version_locations) != files:
            self.loaded_listings = None
        self._bases = [os.path.join(str(base), "") for base in (settings.root.resolve(), *self.version_dirs)]

    def has(self, revision: str) -> bool:
        """Whether ``revision`` (a full id) is a revision of this history."""
        try:
            return self.script.revision_map.get_revision(revision) is not None
        except Exception:  # noqa: BLE001 - Alembic raises several kinds for an unknown id
            return False

    def get(self, revision: str) -> Script:
        """The loaded Script of ``revision`` (a full id)."""
        script = self.script.revision_map.get_revision(revision)
        assert script is not None
        return script

    def heads(self) -> tuple[str, ...]:
        return tuple(sorted(self.script.get_heads()))

    def bases(self) -> tuple[str, ...]:
        """The revisions with no parent (the roots), sorted."""
        return tuple(sorted(self.script.get_bases()))

    def relpath(self, path: str | Path) -> str:
        """``path`` relative to the project root, with forward slashes (never absolute)."""
        text = os.path.abspath(path)  # normalised: no '..', no doubled or trailing separator
        for candidate in (text, None):  # then through symbolic links (resolved only if needed)
            candidate = candidate or os.path.realpath(text)
            for base in self._bases:
                if candidate.startswith(base):  # plain strings: called 10,000s of times
                    return candidate[len(base):].replace(os.sep, "/")
        return os.path.basename(text)

    def describe(self, revision: str) -> str:
        """``revision (its message)``, as errors name a revision."""
        script = self.get(revision)
        return f"{revision} ({script.doc.splitlines()[0] if script.doc else 'no message'})"

    @functools.cached_property
    def ancestry(self) -> AncestorIndex:
        """Which revision is below which (dependencies included), as bitsets computed once."""
        return AncestorIndex(self.script.revision_map)

    @functools.cached_property
    def script_paths(self) -> frozenset[str]:
        """The absolute path of every revision script."""
        revisions = compat.revision_ids(self.script.revision_map)
        return frozenset(os.path.abspath(self.get(rev).path) for rev in revisions)

    def script_sha256(self, revision: str) -> str:
        """The SHA-256 of the revision's script file as it is on disk now."""
        with open(self.get(revision).path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()


def _load(config, settings: Settings, kept_code: Callable[[list[Path]], Any] | None
          ) -> tuple[ScriptDirectory, int, list[str], Any]:
    """ScriptDirectory with every revision script loaded (how many scripts were compiled on the
    second core, the script files found before loading, and the code objects kept in the
    cache with those compiled now noted, if it is used), or a ScriptLoadError naming the
    file (UntestedAlembic first when the Alembic internals distill patches changed: every
    command and the API load a history)."""
    compat.require_compatible()
    try:
        script = ScriptDirectory.from_config(config)
    except CommandError as exc:
        raise ConfigError(f"{settings.source}: cannot open the Alembic scripts: {exc}") from None
    run_setup(settings)  # after Alembic's prepend_sys_path, before any script loads
    try:
        # Alembic loads each script by its resolved path: list them the same way
        folders = [Path(p).resolve() for p in compat.version_locations(script)]
        files = script_files(folders, script.recursive_version_locations)
        with watch.paused():  # the cache's own file is no input of the scripts' renderings
            kept = kept_code(folders) if kept_code is not None else None
        with compiled_on_second_core(files, kept) as handover, compat.process_kept(), _loads_shown(files), \
                warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            script.revision_map.heads  # noqa: B018 - loads (executes) every revision script
    except (Exception, SystemExit) as exc:  # a script's sys.exit() or os._exit() too
        if isinstance(exc, Terminated):
            raise
        raise _load_error(exc, script, settings, _alembic_warnings(warned)) from None
    broken = _alembic_warnings(warned)
    if broken:  # a revision defined twice, or a parent no script defines
        raise ScriptLoadError(f"the revision history of {settings.source} is broken: {'; '.join(broken)}. "
                              "Fix the revision ids and down_revision values in the scripts.")
    _check_names(script, settings)
    return script, handover.used, files, kept


def _check_names(script: ScriptDirectory, settings: Settings) -> None:
    """ScriptLoadError naming the script whose revision id is not a plain name (letters, digits and
    . _ -, as distill names files and writes SQL comments after it) or whose branch labels or
    depends_on hold a control character (a newline would start a line of SQL of its own)."""
    for revision in compat.revision_ids(script.revision_map):
        loaded = script.revision_map.get_revision(revision)
        try:
            check_file_part(revision, "the revision id")
        except DistillError:  # the script's path found only now: 10,000s of ids pass
            rel = one_line(_relative(Path(loaded.path).resolve(), script, settings))
            try:
                check_file_part(revision, f"the revision id in {rel}")
            except DistillError as exc:
                raise ScriptLoadError(f"{exc}. Nothing was written.") from None
        for what, values in (("branch_labels", getattr(loaded.module, "branch_labels", None)),
                             ("depends_on", loaded.dependencies)):
            for value in (values,) if isinstance(values, str) else values or ():
                if not isinstance(value, str) or one_line(value) != value:
                    rel = one_line(_relative(Path(loaded.path).resolve(), script, settings))
                    raise ScriptLoadError(
                        f"the {what} value {one_line(value)!r} in {rel} (revision {revision}) holds a "
                        "control character (a newline, NUL, escape ...): distill writes it into SQL "
                        "comments and the runbook, where it would start a line of its own; change it. "
                        "Nothing was written.")


def _relative(path: Path, script: ScriptDirectory, settings: Settings) -> str:
    """``path`` relative to the project root or a version folder, with forward slashes."""
    version_dirs = [Path(p).resolve() for p in compat.version_locations(script)]
    return next((path.relative_to(base).as_posix() for base in (settings.root.resolve(), *version_dirs)
                 if path.is_relative_to(base)), path.name)


def _alembic_warnings(warned: list[warnings.WarningMessage] | None) -> list[str]:
    """What Alembic warned about while loading the history (duplicates, missing parents)."""
    return [" ".join(str(w.message).split()) for w in warned or []
            if issubclass(w.category, UserWarning) and compat.warned_by_alembic(w.filename)]


@contextlib.contextmanager
def _loads_shown(files: list[str]) -> Iterator[None]:
    """While inside, each of ``files`` that the import system executes counts on the progress
    line ("loading scripts"). Alembic executes each script through importlib's file loaders."""
    progress = Progress(["scripts"], [len(files)], ("loading",))
    if not progress.enabled:
        yield
        return
    wanted, done = set(files), [0]

    def loaded(path: str) -> None:
        if path in wanted:
            done[0] += 1
            progress.draw(done)

    try:
        with loads_observed(loaded):
            yield
    finally:
        progress.draw(done, final=True)


def _failing_line(exc: BaseException, version_dirs: list[Path]) -> tuple[str | None, int | None]:
    """(file, line) inside the version folders where loading failed, if it did there."""
    def in_versions(filename: str | None) -> bool:
        return bool(filename) and any(Path(filename).resolve().is_relative_to(d) for d in version_dirs)

    if isinstance(exc, SyntaxError) and in_versions(exc.filename):
        return exc.filename, exc.lineno
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if in_versions(frame.filename):
            found = (frame.filename, frame.lineno)
    return found


def _load_error(exc: BaseException, script: ScriptDirectory, settings: Settings,
                noted: list[str] = ()) -> ScriptLoadError:
    version_dirs = [Path(p).resolve() for p in compat.version_locations(script)]
    filename, line = _failing_line(exc, version_dirs)
    if filename is None:
        why = "; ".join(noted) if noted else f"{type(exc).__name__}: {exc}"
        return ScriptLoadError(f"cannot load the revision history of {settings.source}: {why}")
    path = Path(filename).resolve()
    try:
        found = _REVISION_LINE.search(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        found = None
    revision = f"revision {found[1]}" if found else "a revision"
    rel = _relative(path, script, settings)
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return ScriptLoadError(
        f"cannot load {revision}: its script {rel} fails to import at line {line}: "
        f"{type(exc).__name__}: {detail}. Fix the script (or the module it imports) and run again."
    )
