"""Compiling revision scripts on the second core while Alembic loads the first ones.

Loading a history executes every revision script. Without a bytecode cache (PYTHONDONTWRITEBYTECODE,
a read-only checkout, a fresh CI machine) compiling them is about 40% of the load: 1.2 s of 3.2 s
for 10,000 revisions. Alembic loads them in sorted order, so a forked child compiles the second
half meanwhile and hands the code objects over in marshal form (what a .pyc file holds). The
loader takes one only for the same path and the very bytes it is about to compile; anything else
(a file changed since, a syntax error, a script outside the list) is compiled as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import workers
from ..compat import compiled_code_from

MIN_FILES = 400  # below this, forking costs more than it saves


def source_digest(data: bytes) -> bytes:
    """What a code object handed over (or kept in the render cache) was compiled from."""
    return hashlib.blake2b(data, digest_size=16).digest()


def script_files(version_dirs: list[Path], recursive: bool) -> list[str]:
    """The revision scripts in the order Alembic loads them: folder by folder, sorted names."""
    found: list[str] = []
    for folder in version_dirs:
        for root, dirs, files in os.walk(folder):
            if Path(root).name == "__pycache__":
                continue
            found += [os.path.join(root, name) for name in sorted(files) if name.endswith(".py")]
            if not recursive:
                break
            dirs.sort()
    return found


def _compile_into(paths: list[str], out: Any) -> None:
    """In the child: compile ``paths`` as importlib would and write {path: (digest, code)}."""
    table = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            code = compile(data, path, "exec", dont_inherit=True, optimize=-1)
        except Exception:  # the loader meets it again and reports it
            continue
        table[path] = (source_digest(data), marshal.dumps(code))
    marshal.dump(table, out)
    out.flush()


class Handover:
    """Code objects compiled by the child, taken by the loader only for the very bytes it is
    about to compile; ``used`` counts them (0 when no child was started)."""

    def __init__(self, pid: int = 0, out: Any = None, wanted: set[str] | None = None) -> None:
        self.used = 0
        self.pid, self.out, self.wanted = pid, out, wanted or set()
        self.ready: dict[str, tuple[bytes, bytes]] | None = None

    def _collect(self) -> dict[str, tuple[bytes, bytes]]:
        os.waitpid(self.pid, 0)
        self.out.seek(0)
        try:
            return marshal.load(self.out)
        except (EOFError, ValueError, TypeError):  # the child failed: compile here instead
            return {}

    def code(self, data: bytes, path: str) -> Any:
        """The child's code object for ``path`` if it compiled these very bytes, else None."""
        if path not in self.wanted:
            return None
        if self.ready is None:
            self.ready = self._collect()
        entry = self.ready.get(path)
        if entry is None or entry[0] != source_digest(data):
            return None
        self.used += 1
        return marshal.loads(entry[1])

    def abandon(self) -> None:
        """Loading stopped before the second half: stop the child instead of waiting for it."""
        if self.pid and self.ready is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


@contextlib.contextmanager
def compiled_on_second_core(paths: list[str], kept: Any = None) -> Iterator[Handover]:
    """While inside, the loader takes the code objects of ``paths`` from ``kept`` (the render
    cache's, cache/compiled.py: those compiled from the same bytes before), else from the child
    that compiles the second half of those ``kept`` has none of, else compiles; what it compiled
    is noted in ``kept``."""
    # Only with a second core to use (DISTILL_JOBS=1 means one process), and never from a
    # process with threads (a forked child may inherit a lock held by one).
    unknown = paths if kept is None else [path for path in paths if not kept.knows(path)]
    if len(unknown) < MIN_FILES or workers.usable_cores(2) < 2 or threading.active_count() > 1:
        with _code_from(Handover(), kept, set(paths)) as handover:
            yield handover
        return
    second_half = unknown[len(unknown) // 2:]
    with tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:  # the child: compile, hand over, leave without running any cleanup
            try:
                _compile_into(second_half, out)
            finally:
                os._exit(0)
        handover = Handover(pid, out, set(second_half))
        try:
            with _code_from(handover, kept, set(paths)):  # the loader asks the child first
                yield handover
        finally:
            handover.abandon()


@contextlib.contextmanager
def _code_from(handover: Handover, kept: Any, scripts: set[str]) -> Iterator[Handover]:
    """The loader asks ``kept``, then ``handover``, for the code of one of ``scripts``; with
    ``kept``, it compiles here what neither has, and notes it there."""
    def code_for(data: bytes, path: str) -> Any:
        if path not in scripts:  # not a revision script: a module one imports, a library
            return None
        code = kept.code(data, path) if kept is not None else None
        if code is not None:
            return code
        code = handover.code(data, path)
        if kept is not None:
            code = code or compile(data, path, "exec", dont_inherit=True, optimize=-1)
            kept.compiled(data, path, code)
        return code

    with compiled_code_from(code_for):
        yield handover
