"""What revision scripts import, kept in the render cache between runs (``confined.ScriptImports``).

Finding the confined modules reads every revision script for the name of a project module and
parses those that name one (0.09 s of a run after one revision of 1,000 was edited). What it finds
is a function of a script's bytes and of the project modules' names (and of the code that reads
them, and Python's parser), so it is kept per set of names, distill's reading code and Python
version, by the digest of each script's bytes. The entry carries the digest of its contents: a torn
or altered entry is ignored and written again; a line that does not read as one is dropped.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from ..compat import watch
from . import confined
from .confined import ScriptImports
from .store import Store, framed, unframed

_MAGIC = b"DISTILL-SCRIPT-IMPORTS 1\n"


class KnownImports:
    """Hands ``confined_modules`` the ``ScriptImports`` kept for its words (``__call__``) and
    writes it back when the run found something new (``keep``)."""

    def __init__(self, directory: Path) -> None:
        self.store = Store(directory)
        self.found: ScriptImports | None = None
        self.key = ""

    def __call__(self, words: list[str]) -> ScriptImports:
        parts = ["script-imports-2", reading_code(), sys.version, *words]
        text = "\0".join(parts).encode("utf-8", "surrogatepass")
        self.key = hashlib.blake2b(text, digest_size=20).hexdigest()
        self.found = ScriptImports(words, self._read())
        return self.found

    def _read(self) -> dict[str, Any]:
        try:
            data = self.store.path(self.key).read_bytes()
        except OSError:
            return {}
        entry = unframed(_MAGIC, data, self.key)
        table = entry.get("table") if entry is not None else None
        if not isinstance(table, dict):
            return {}
        self.store.touch(self.key)  # used: not the first to go past the cap
        return {digest: _found(value) for digest, value in table.items() if _reads(value)}

    def keep(self) -> None:
        """Write the entry again if this run found a script's imports it did not hold."""
        if self.found is None or not self.found.added:
            return
        table = {digest: None if value is None else [bool(value[0]), list(value[1])]
                 for digest, value in self.found.table.items()}
        self.store.put(self.key, framed(_MAGIC, {"key": self.key, "table": table}))
        self.found.added = False


def reading_code() -> str:
    """The digest of the code that finds what scripts import (confined.py): in the entry's key
    with Python's version (its parser), so that another distill or Python reads them afresh."""
    return str(watch.file_digest(confined.__file__))


def _reads(value: Any) -> bool:
    """Whether a kept line reads as one: None, or [plain (bool), [module names]]."""
    return value is None or (isinstance(value, list) and len(value) == 2 and isinstance(value[0], bool)
                             and isinstance(value[1], list) and all(isinstance(n, str) for n in value[1]))


def _found(value: list | None) -> tuple[bool, list[str]] | None:
    return None if value is None else (value[0], value[1])
