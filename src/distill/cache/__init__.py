"""Nothing renders twice: a content-addressed cache of plans rendered offline (issue 32).

One ``RenderCache`` per command: opened after the history loaded (the key's base is computed
then, ``keys``), asked in the distill process which plans are cached (``lookup``, before the
reproducibility probe is sent, so the probe renders only the others), handed to the workers
(forked: they inherit what was found), which take a rendering from it (``cached``) or render and
leave a temporary entry (``rendered``); the distill process keeps the entries whose steps the
probe found reproducible (``keep``) and deletes the others. ``check`` also keeps what it found
for one step in one dialect (``keep_log``), keyed by the keys of the step's two renderings: a
warm check neither renders nor analyses a step again. ``verify --rebuild`` never opens one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..compat import watch
from .fast import Result
from .known_imports import KnownImports
from .store import (
    Store,
    current_deps,
    decode_log,
    decode_log_content,
    default_directory,
    encode,
    encode_log,
    keepable,
    new_modules,
)

__all__ = ["RenderCache", "Result", "default_directory"]


class RenderCache:
    """The cache as one command uses it. ``write``: renderings may be kept (the probe runs)."""

    def __init__(self, directory: Path, history: Any,
                 base: tuple[str, dict[str, str], dict[str, str | None], dict[str, str], dict[str, str]], *,
                 write: bool) -> None:
        from . import keys

        self.store = Store(directory)
        self.history, self.write = history, write
        self.base, self.modules, self.base_files, self.confined, self.confined_modules = base
        # what a whole result also depends on: the folders project modules were found in, and the
        # project's folders on sys.path (a module added there would be imported instead)
        self.module_listings = keys.module_folders(self.modules)
        self.graph = keys.graph_digests(history)
        self.scripts: dict[str, str | None] = {}
        self.found: dict[str, dict[str, Any]] = {}  # key -> entry (looked up in the distill process)
        self.pending: dict[str, tuple[str, dict]] = {}  # key -> (temporary file, its deps) where rendered
        self.deps: dict[str, dict[str, str | None]] = {}  # key -> deps, of each entry found or kept
        self.kept_logs: dict[str, list] = {}  # log key -> what check found, found or kept here
        self.unwritten_logs: dict[str, list] = {}  # of those, what is not in an entry yet
        self.index: dict[str, Any] = {"plans": {}, "deps": [], "logs": {}}  # an earlier result's (seed)
        self.result_keys: list[str] | None = None  # the plans the command's whole result is made of
        self.logs: dict[tuple[str, str], list] = {}  # (dialect, revision) -> what check found (cached)
        self._seen: dict[str, str | None] = {}  # path -> digest, of files entries found depend on
        self._current: dict[int, bool] = {}  # the index's deps (by number): whether they are current
        self._read: dict[str, tuple] = {}  # path -> (size, time, inode), digest: files renderings opened
        self._steps: dict[Any, str] = {}  # a step -> its part of the keys of the plans that hold it
        self._keys: dict[tuple, str] = {}  # a plan (direction, ends, revisions), dialect, standalone -> key
        self._by_plan: dict[tuple, tuple[Any, str]] = {}  # (id of a plan, dialect, standalone) -> (it, key)
        self._new: tuple[int, dict[str, str | None] | None] = (-1, None)  # (len(sys.modules), new_modules)
        # files first opened since the history loaded, by renderings of this cache or another
        self._opened = history.opened_after_load
        self._writes, self._listings = watch.writes(), watch.listings()

    @classmethod
    def open(cls, directory: Path, history: Any, *, write: bool) -> RenderCache | None:
        """The cache for ``history``; None when its key cannot be computed with certainty (or
        loading wrote a file)."""
        from . import keys

        if history.load_wrote:
            return None
        known = KnownImports(directory)
        base = keys.base_digest(history, known)
        if base is None:
            return None
        if write:
            known.keep()
        return cls(directory, history, base, write=write)

    def key(self, plan: Any, dialect: str, standalone: bool) -> str:
        """The key of ``plan``'s rendering (computed once per plan of this history)."""
        from . import keys

        known = self._by_plan.get((id(plan), dialect, standalone))
        if known is not None and known[0] is plan:  # asked again for the same object (check: thrice)
            return known[1]
        which = (plan.direction, plan.start, plan.target, tuple(s.revision for s in plan.steps), dialect,
                 standalone)
        if which not in self._keys:
            self._keys[which] = keys.plan_key(self.base, self.graph, plan, dialect, standalone,
                                              map(self._step_part, plan.steps))
        self._by_plan[id(plan), dialect, standalone] = (plan, self._keys[which])  # held: its id stays its own
        return self._keys[which]

    def _step_part(self, step: Any) -> str:
        """``keys.step_part`` of ``step``, computed once per step of this history (the same
        steps are in every dialect's plans)."""
        from . import keys

        if step not in self._steps:
            if step.revision not in self.scripts:  # its bytes, and the confined modules it reaches
                path = os.path.abspath(self.history.get(step.revision).path)
                self.scripts[step.revision] = f"{keys.script_digest(path)}+{self.confined.get(path)}"
            self._steps[step] = keys.step_part(self.graph, self.scripts, step)
        return self._steps[step]

    def lookup(self, plan: Any, dialect: str, standalone: bool) -> bool:
        """Whether ``plan`` is cached (its entry kept for ``cached``)."""
        key = self.key(plan, dialect, standalone)
        if key in self.deps:
            return True
        indexed = self.index["plans"].get(key)
        if indexed is not None:  # an earlier result listed it: its deps are enough to know
            if indexed not in self._current:  # a few distinct deps serve thousands of plans
                self._current[indexed] = current_deps(self.index["deps"][indexed], self._seen)
            if not self._current[indexed]:
                return False
            self.deps[key] = self.index["deps"][indexed]
            self.store.touch(key)  # used: not the first to go past the cap
            return True
        if key not in self.found:
            entry = self.store.read(key)
            if entry is None or not _fits(entry, plan) or not current_deps(entry["deps"], self._seen):
                return False
            self.found[key] = entry
            self.deps[key] = entry["deps"]
        return True

    def cached(self, plan: Any, dialect: Any, standalone: bool) -> Any:
        """The cached rendering of ``plan``, if ``lookup`` found it; else None."""
        from ..offline.capture import Segment
        from ..offline.render import Rendering

        key = self.key(plan, dialect.name, standalone)
        entry = self.found.get(key)
        if entry is None and key in self.deps and key not in self.pending:  # found by the index only
            entry = self.store.read(key)
            if entry is None or not _fits(entry, plan) or entry["deps"] != self.deps[key]:
                return None
        if entry is None:
            return None
        return Rendering(dialect=dialect, plan=plan,
                         segments=[Segment(step, list(statements)) for step, statements in entry["segments"]],
                         version_table=entry["version_table"], heads_after=list(entry["heads_after"]))

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Around a rendering: what it opens is noted."""
        with watch.watching():
            yield

    def rendered(self, rendering: Any, standalone: bool) -> None:
        """A fresh rendering: left as a temporary entry if it may be kept."""
        if not self.write or watch.writes() != self._writes or watch.listings() != self._listings \
                or not keepable(rendering):
            return
        if self._new[0] != len(sys.modules):  # scanned again only when modules came or went
            self._new = (len(sys.modules), new_modules(self.modules))
        if self._new[1] is None:
            return
        deps = dict(self._new[1])
        if deps:  # a project module imported since the history loaded may import confined ones
            deps.update(self.confined_modules)
        for path in sorted(watch.opened_since(self._opened)):
            if path not in self.modules and path not in self.history.script_paths \
                    and f"{os.sep}__pycache__{os.sep}" not in path:
                deps[path] = self._digest(path)
        key = self.key(rendering.plan, rendering.dialect.name, standalone)
        temporary = self.store.write_temporary(encode(key, rendering, deps))
        if temporary is not None:
            self.pending[key] = (temporary, deps)

    def _digest(self, path: str) -> str | None:
        """The digest of a file a rendering opened: read again only when its size, time or inode
        changed since this process last read it (a file edited during the run is a miss later)."""
        try:
            stat = os.stat(path)
            stamp: tuple | None = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        except OSError:
            stamp = None
        known = self._read.get(path)
        if known is None or known[0] != stamp or stamp is None:
            known = self._read[path] = (stamp, watch.file_digest(path))
        return known[1]

    def log_key(self, up: Any, down: Any, dialect: str, standalone: bool) -> str:
        """The key of what ``check`` finds for one step alone (``up``, ``down``: its plans) in
        one dialect: a function of the two renderings (and the dialect data, in the base)."""
        from . import keys

        return keys.combined("check-log-1", self.key(up, dialect, standalone),
                             self.key(down, dialect, standalone))

    def lookup_log(self, up: Any, down: Any, dialect: str, standalone: bool) -> bool:
        """Whether what ``check`` found for this step is cached (kept for ``logs``)."""
        key = self.log_key(up, down, dialect, standalone)
        log = decode_log_content(self.index["logs"][key]) if key in self.index["logs"] \
            else self.store.read(key, decode_log)
        if log is not None:
            self.logs[dialect, up.steps[0].revision] = log
            self.kept_logs[key] = [list(item) for item in log]
        return log is not None

    def keep_log(self, up: Any, down: Any, dialect: str, standalone: bool, log: list) -> None:
        """Keep what ``check`` found for this step (only from renderings kept or found here):
        in the index of the whole result, or where none is kept, in an entry of its own
        (``write_logs``)."""
        key = self.log_key(up, down, dialect, standalone)
        self.kept_logs[key] = self.unwritten_logs[key] = log

    def write_logs(self) -> None:
        """Write what ``keep_log`` kept and no whole result holds, an entry per step and dialect."""
        for key, log in sorted(self.unwritten_logs.items()):
            self.store.put(key, encode_log(key, log))
        self.unwritten_logs.clear()

    def forget(self, key: str) -> None:
        """A rendering found here that a worker rendered again all the same (its entry had gone):
        no whole result may be kept from it (it was not probed)."""
        self.deps.pop(key, None)

    def take_pending(self) -> dict[str, tuple[str, dict]]:
        """The temporary entries this process left since the last call: key -> (path, deps)."""
        pending, self.pending = self.pending, {}
        return pending

    def keep(self, kept: dict[str, tuple[str, dict]], dropped: Iterable[str]) -> None:
        """Put the temporary entries of ``kept`` (key -> (path, deps)) in place; delete
        ``dropped`` (paths)."""
        self.store.promote({key: path for key, (path, _) in kept.items()}, dropped)
        self.deps.update({key: deps for key, (_, deps) in kept.items()})

    def result_deps(self, plan_keys: Iterable[str]) -> dict[str, str | None] | None:
        """Every file a result made of the renderings of ``plan_keys`` depends on, with its
        digest: the base's files and each entry's; None unless every one was found in the cache
        or kept there."""
        found = dict(self.base_files)
        for key in plan_keys:
            if key not in self.deps:
                return None
            found.update(self.deps[key])
        return found

    def index_of(self, plan_keys: Iterable[str]) -> dict[str, Any]:
        """What a result keeps so that a later run finds these renderings (and what check
        found from them) without reading their entries: each key with its deps, and the logs."""
        distinct: dict[str, int] = {}
        deps: list[dict] = []
        plans = {}
        same: dict[int, int] = {}  # id of a deps dict -> its number (most are shared, from the index)
        for key in sorted(set(plan_keys)):
            found = self.deps[key]
            if id(found) not in same:
                text = repr(sorted(found.items()))
                if text not in distinct:
                    distinct[text] = len(deps)
                    deps.append(found)
                same[id(found)] = distinct[text]
            plans[key] = same[id(found)]
        return {"plans": plans, "deps": deps, "logs": dict(sorted(self.kept_logs.items()))}

    def seed(self, index: Any) -> None:
        """Take an earlier result's index (``index_of``), if it reads as one."""
        try:
            plans, deps, logs = index["plans"], index["deps"], index["logs"]
            if all(isinstance(n, int) and 0 <= n < len(deps) for n in plans.values()) and all(
                    isinstance(d, dict) for d in deps) and isinstance(logs, dict):
                self.index = {"plans": dict(plans), "deps": list(deps), "logs": dict(logs)}
                self._current = {}
        except (TypeError, KeyError, AttributeError):
            pass


def _fits(entry: dict[str, Any], plan: Any) -> bool:
    """Whether an entry has one segment and one version-table state per step of ``plan``."""
    steps = [step for step, _ in entry["segments"] if step is not None]
    return steps == list(range(len(plan.steps))) and len(entry["heads_after"]) == len(plan.steps)


def directory_of(settings: Any) -> Path:
    """Where the cache is: ``cache_dir`` of [tool.distill] (relative to the project), else the
    user's cache directory."""
    configured = getattr(settings, "cache_dir", None)
    if configured is None:
        return default_directory()
    return Path(os.path.expanduser(configured)) if os.path.isabs(os.path.expanduser(configured)) \
        else settings.root / configured
