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
from .store import (
    Store,
    current_deps,
    decode_log,
    default_directory,
    encode,
    encode_log,
    keepable,
    new_modules,
)

__all__ = ["RenderCache", "default_directory"]


class RenderCache:
    """The cache as one command uses it. ``write``: renderings may be kept (the probe runs)."""

    def __init__(self, directory: Path, history: Any, base: tuple[str, dict[str, str]], *,
                 write: bool) -> None:
        from . import keys

        self.store = Store(directory)
        self.history, self.write = history, write
        self.base, self.modules = base
        self.graph = keys.graph_digests(history)
        self.scripts: dict[str, str | None] = {}
        self.found: dict[str, dict[str, Any]] = {}  # key -> entry (looked up in the distill process)
        self.pending: dict[str, str] = {}  # key -> temporary file (in the process that rendered)
        self.logs: dict[tuple[str, str], list] = {}  # (dialect, revision) -> what check found (cached)
        self._seen: dict[str, str | None] = {}
        self._keys: dict[tuple, str] = {}  # a plan (direction, ends, revisions), dialect, standalone -> key
        self._new: tuple[int, dict[str, str | None] | None] = (-1, None)  # (len(sys.modules), new_modules)
        self._opened, self._writes, self._listings = watch.opened(), watch.writes(), watch.listings()

    @classmethod
    def open(cls, directory: Path, history: Any, *, write: bool) -> RenderCache | None:
        """The cache for ``history``; None when its key cannot be computed with certainty (or
        loading wrote a file)."""
        from . import keys

        if history.load_wrote:
            return None
        base = keys.base_digest(history)
        return None if base is None else cls(directory, history, base, write=write)

    def key(self, plan: Any, dialect: str, standalone: bool) -> str:
        """The key of ``plan``'s rendering (computed once per plan of this history)."""
        from . import keys

        which = (plan.direction, plan.start, plan.target, tuple(s.revision for s in plan.steps), dialect,
                 standalone)
        if which not in self._keys:
            for step in plan.steps:
                if step.revision not in self.scripts:
                    self.scripts[step.revision] = keys.script_digest(self.history.get(step.revision).path)
            self._keys[which] = keys.plan_key(self.base, self.graph, self.scripts, plan, dialect, standalone)
        return self._keys[which]

    def lookup(self, plan: Any, dialect: str, standalone: bool) -> bool:
        """Whether ``plan`` is cached (its entry kept for ``cached``)."""
        key = self.key(plan, dialect, standalone)
        if key not in self.found:
            entry = self.store.read(key)
            if entry is None or not _fits(entry, plan) or not current_deps(entry["deps"], self._seen):
                return False
            self.found[key] = entry
        return True

    def cached(self, plan: Any, dialect: Any, standalone: bool) -> Any:
        """The cached rendering of ``plan``, if ``lookup`` found it; else None."""
        from ..offline.capture import Segment
        from ..offline.render import Rendering

        entry = self.found.get(self.key(plan, dialect.name, standalone))
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
        for path in sorted(watch.opened() - self._opened):
            if path not in self.modules and path not in self.history.script_paths \
                    and f"{os.sep}__pycache__{os.sep}" not in path:
                deps[path] = watch.file_digest(path)
        key = self.key(rendering.plan, rendering.dialect.name, standalone)
        temporary = self.store.write_temporary(encode(key, rendering, deps))
        if temporary is not None:
            self.pending[key] = temporary

    def log_key(self, up: Any, down: Any, dialect: str, standalone: bool) -> str:
        """The key of what ``check`` finds for one step alone (``up``, ``down``: its plans) in
        one dialect: a function of the two renderings (and the dialect data, in the base)."""
        from . import keys

        return keys.combined("check-log-1", self.key(up, dialect, standalone),
                             self.key(down, dialect, standalone))

    def lookup_log(self, up: Any, down: Any, dialect: str, standalone: bool) -> bool:
        """Whether what ``check`` found for this step is cached (kept for ``logs``)."""
        log = self.store.read(self.log_key(up, down, dialect, standalone), decode_log)
        if log is not None:
            self.logs[dialect, up.steps[0].revision] = log
        return log is not None

    def keep_log(self, up: Any, down: Any, dialect: str, standalone: bool, log: list) -> None:
        """Keep what ``check`` found for this step (only from renderings kept or found here)."""
        key = self.log_key(up, down, dialect, standalone)
        temporary = self.store.write_temporary(encode_log(key, log))
        if temporary is not None:
            self.store.promote({key: temporary}, (), evict=False)

    def take_pending(self) -> dict[str, str]:
        """The temporary entries this process left since the last call."""
        pending, self.pending = self.pending, {}
        return pending

    def keep(self, kept: dict[str, str], dropped: Iterable[str]) -> None:
        """Put the temporary entries of ``kept`` (key -> path) in place; delete ``dropped``."""
        self.store.promote(kept, dropped)


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
