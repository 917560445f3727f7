"""The revision scripts' code objects, kept in the render cache between runs.

Loading a history executes every revision script, and Python compiles each one unless a bytecode
file beside it is current. distill writes nothing into the project, and CI machines, containers
and read-only checkouts often have no bytecode files (PYTHONDONTWRITEBYTECODE): compiling was
0.18 s of a 0.42 s load of 1,000 scripts, on every run. So the cache keeps what a ``.pyc`` holds,
one entry per set of version folders, Python bytecode version and interpreter flags (``-O``):
for each script path, the digest of the source bytes it was compiled from and the marshalled
code object.

A code object is taken only for the same path and the very bytes the loader is about to compile
(what Python's own bytecode cache checks, by hash instead of time); anything else compiles as
before and replaces the entry's line. The entry carries the digest of its contents: a torn or
altered entry is ignored and rewritten. Its trust is that of the ``.pyc`` files Python writes into
``__pycache__``: the cache directory is the user's own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from ..history.parallel_compile import source_digest
from .store import Store

_MAGIC = b"DISTILL-COMPILED-SCRIPTS 1\n"


def _key(folders: list[Path]) -> str:
    # the interpreter's flags too: -O strips asserts (-OO docstrings: a revision's message), and
    # -X int_max_str_digits decides whether a long literal compiles at all; MAGIC_NUMBER names
    # neither
    named = b"\0".join([b"compiled-scripts", importlib.util.MAGIC_NUMBER, repr(sys.flags).encode(),
                        *(os.fsencode(str(folder)) for folder in folders)])
    return hashlib.blake2b(named, digest_size=32).hexdigest()


class KeptCode:
    """The code objects kept for one history's scripts: ``code()`` hands one out, ``compiled()``
    notes one compiled now, ``keep()`` writes the entry again if anything changed."""

    def __init__(self, directory: Path, folders: list[Path]) -> None:
        self.store, self.key = Store(directory), _key(folders)
        self.table = self._read()
        self.fresh: dict[str, tuple[bytes, bytes]] = {}  # path -> (source digest, code) compiled now
        self.used: set[str] = set()

    def _read(self) -> dict[str, tuple[bytes, bytes]]:
        try:
            data = self.store.path(self.key).read_bytes()
        except OSError:
            return {}
        digest, payload = data[len(_MAGIC):len(_MAGIC) + 32], data[len(_MAGIC) + 32:]
        if not data.startswith(_MAGIC) or hashlib.blake2b(payload, digest_size=32).digest() != digest:
            return {}
        try:
            key, table = marshal.loads(payload)
        except (EOFError, ValueError, TypeError):
            return {}
        if key != self.key or not isinstance(table, dict):
            return {}
        self.store.touch(self.key)  # used: not the first to go past the cap
        return table

    def knows(self, path: str) -> bool:
        """Whether a code object of ``path`` is kept (from some bytes)."""
        return path in self.table

    def code(self, data: bytes, path: str) -> Any:
        """The kept code object of ``path`` if it was compiled from these very bytes, else None."""
        entry = self.table.get(path)
        if not isinstance(entry, tuple) or len(entry) != 2 or entry[0] != source_digest(data):
            return None
        try:
            code = marshal.loads(entry[1])
        except (EOFError, ValueError, TypeError):
            return None
        self.used.add(path)
        return code

    def compiled(self, data: bytes, path: str, code: Any) -> None:
        """Note ``code``, compiled now from ``data`` at ``path``."""
        self.fresh[path] = (source_digest(data), marshal.dumps(code))

    def keep(self, paths: list[str]) -> None:
        """Write the entry again with a code object for each of ``paths`` that has one, when it
        would differ from what was read (a script compiled now, one gone)."""
        if not self.fresh and set(self.table) == self.used == set(paths):
            return
        table = {path: self.fresh.get(path) or self.table[path] for path in paths
                 if path in self.fresh or path in self.used}
        if not table:
            return
        payload = marshal.dumps((self.key, table))
        # counted against the cap; measured by the next run that keeps renderings (not now: the
        # load is on the way)
        self.store.put(self.key, _MAGIC + hashlib.blake2b(payload, digest_size=32).digest() + payload)
