"""The render cache on disk: one file per rendered plan (and per step and dialect, what ``check``
found from its two renderings), found by its key (``keys``).

An entry holds one plan's rendering as Alembic wrote it (before formatting), the files it read
beyond the key's base with their digests, and its own digest. It is written only for a rendering
that the reproducibility check rendered the same a second time (the probe's verdict), that
printed nothing, raised nothing, was not rendered against a shadow and wrote no file: a worker
writes it to a temporary file, and the distill process renames it into place (atomic) once the
verdict is in, or deletes it. An entry that is corrupt, foreign (another key, another format) or
whose files changed is a miss, and is replaced by the next rendering that may be kept. Reading an
entry touches its time; past ``MAX_BYTES``, the least recently used entries are deleted.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..compat import watch
from ..statements.model import LOG, NOTE, OUTPUT, Statement, VersionTable
from . import keys

MAX_BYTES = 512 * 1024 * 1024  # the cap; past it the least recently used entries go (to 80 %)
_MAGIC = b"DISTILL-RENDER-CACHE 1\n"
_UNKEPT = {NOTE, LOG, OUTPUT}  # printed output: never kept
_STALE_TEMP = 3600.0  # seconds after which a temporary file nobody renamed is removed
_COUNTER = [0]  # temporary entries this process named
_MADE: set[str] = set()  # folders of the cache this process made (or found)
_LEDGER = "written"  # bytes kept since the cache was last measured, a line per run that kept some


def default_directory() -> Path:
    """``$XDG_CACHE_HOME/distill``, else ``~/.cache/distill``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "distill"


def framed(magic: bytes, content: dict[str, Any]) -> bytes:
    """An entry's bytes: its magic line, the digest of its JSON payload, the payload."""
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return magic + watch.digest_bytes(payload).encode("ascii") + b"\n" + payload


def unframed(magic: bytes, data: bytes, key: str) -> dict[str, Any] | None:
    """The JSON payload of an intact entry of ``key`` framed with ``magic``; None otherwise
    (another kind, torn, altered, or another key's)."""
    if not data.startswith(magic):
        return None
    digest, _, payload = data[len(magic):].partition(b"\n")
    if digest.decode("ascii", "replace") != watch.digest_bytes(payload):
        return None
    try:
        entry = json.loads(payload.decode("utf-8", "surrogatepass"))
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and entry.get("key") == key else None


def encode(key: str, rendering: Any, deps: dict[str, str | None]) -> bytes:
    """The bytes of an entry."""
    table = rendering.version_table
    return framed(_MAGIC, {
        "key": key, "deps": deps, "heads_after": [list(h) for h in rendering.heads_after],
        "version_table": [table.name, table.schema, table.sql, table.create],
        "segments": [[seg.step, [[s.kind, s.text] for s in seg.statements]] for seg in rendering.segments],
    })


def decode(data: bytes, key: str) -> dict[str, Any] | None:
    """The entry's content if ``data`` is an intact entry of ``key``; None otherwise."""
    entry = unframed(_MAGIC, data, key)
    if entry is None:
        return None
    try:
        name, schema, sql, create = entry["version_table"]
        entry["version_table"] = VersionTable(str(name), None if schema is None else str(schema),
                                              str(sql), str(create))
        entry["heads_after"] = [tuple(str(r) for r in heads) for heads in entry["heads_after"]]
        entry["segments"] = [(None if step is None else int(step),
                              [Statement(str(kind), str(text)) for kind, text in statements])
                             for step, statements in entry["segments"]]
        if not all(isinstance(p, str) and (d is None or isinstance(d, str))
                   for p, d in entry["deps"].items()):
            return None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return entry


_LOG_MAGIC = b"DISTILL-CHECK-LOG 1\n"


def encode_log(key: str, log: list) -> bytes:
    """The bytes of an entry holding what ``check`` found for one step in one dialect."""
    return framed(_LOG_MAGIC, {"key": key, "log": log})


def decode_log(data: bytes, key: str) -> list | None:
    """The log of an intact log entry of ``key``: (table, key tuple, dialect) items; else None."""
    entry = unframed(_LOG_MAGIC, data, key)
    return None if entry is None else decode_log_content(entry.get("log"))


def decode_log_content(log: Any) -> list | None:
    """A log as kept (lists), as check replays it: (table, key tuple, dialect) items; None if it
    does not read as one."""
    try:
        return [(str(table), tuple(str(part) for part in found), str(value)) for table, found, value in log]
    except (ValueError, TypeError, KeyError):
        return None


def keepable(rendering: Any) -> bool:
    """Whether a rendering may be kept: offline, nothing printed or logged."""
    return rendering.shadow is None and not any(
        s.kind in _UNKEPT for seg in rendering.segments for s in seg.statements)


class Store:
    """The entries of one cache directory."""

    def __init__(self, directory: Path) -> None:
        self.root = Path(directory) / "renderings-1"
        self._root = str(self.root)  # touch() joins strings: thousands of touches per run

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:]

    def read(self, key: str, decoder: Any = None) -> Any:
        """The entry of ``key`` (``decoder``: ``decode``, or ``decode_log``), None if absent or
        not intact."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        entry = (decoder or decode)(data, key)
        if entry is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # least recently *used*
        return entry

    def touch(self, key: str) -> None:
        """Note that the entry of ``key`` was used (least recently used entries go first)."""
        with contextlib.suppress(OSError):
            os.utime(os.path.join(self._root, key[:2], key[2:]))

    def write_temporary(self, data: bytes) -> str | None:
        """``data`` in a temporary file of the cache (renamed into place later); None if the
        cache cannot be written. Named by process and a count (created exclusively: a name left
        by a process that died with this one's id is skipped)."""
        try:
            folder = os.path.join(self.root, "tmp")
            while True:
                _COUNTER[0] += 1
                name = os.path.join(folder, f"entry-{os.getpid()}-{_COUNTER[0]}")
                try:
                    handle = self._in_folder(folder, functools.partial(
                        os.open, name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                    break
                except FileExistsError:
                    continue
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            return name
        except OSError:
            return None

    def put(self, key: str, data: bytes, *, evict: bool = False) -> bool:
        """``data`` as the entry of ``key``, written aside and renamed into place (replacing one
        there); whether it is there now. ``evict``: keep the cache under its cap after."""
        temporary = self.write_temporary(data)
        if temporary is None:
            return False
        self.promote({key: temporary}, (), evict=evict)
        return self.path(key).is_file()

    @staticmethod
    def _in_folder(folder: str, action: Callable[[], Any]) -> Any:
        """``action()``, ``folder`` made first (once per process), and made again if it went since
        (a cache removed by hand)."""
        if folder not in _MADE:
            os.makedirs(folder, exist_ok=True)
            _MADE.add(folder)
        try:
            return action()
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            return action()

    def promote(self, kept: dict[str, str], dropped: Iterable[str], *, evict: bool = True) -> None:
        """Rename each temporary file of ``kept`` (key -> path) into place; delete ``dropped``;
        then keep the cache under its cap."""
        for path in dropped:
            with contextlib.suppress(OSError):
                os.unlink(path)
        written = 0
        for key, path in kept.items():
            try:
                size, target = os.stat(path).st_size, self.path(key)
                with contextlib.suppress(OSError):  # an entry replaced: what the cache grew by
                    size -= os.stat(target).st_size
                self._in_folder(str(target.parent), functools.partial(os.replace, path, target))
                written += size
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        if written > 0:
            self._note_written(written)
        if kept and evict and self._written() >= MAX_BYTES // 100:
            self.evict()

    def _note_written(self, size: int) -> None:
        """Add ``size`` to the bytes written since the cache was last measured (a line appended:
        processes sharing the cache add up; one lost to a race only delays a measure)."""
        with contextlib.suppress(OSError):
            fd = os.open(self.root / _LEDGER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{size}\n".encode("ascii"))
            finally:
                os.close(fd)

    def _written(self) -> int:
        """The bytes written since the cache was last measured (walking it takes a tenth of a
        second at 10,000 entries: not after every run that kept one entry)."""
        try:
            lines = (self.root / _LEDGER).read_text("ascii").split()
            return sum(int(line) for line in lines if line.isdigit())
        except (OSError, ValueError):
            return MAX_BYTES

    def evict(self, limit: int | None = None) -> None:
        """Past ``limit`` bytes (``MAX_BYTES``), delete the least recently used entries until 80 %
        of it is left; temporary files older than an hour go too (a process that died)."""
        limit = MAX_BYTES if limit is None else limit
        with contextlib.suppress(OSError):
            (self.root / _LEDGER).write_bytes(b"")  # measured now
        entries, total, now = [], 0, time.time()
        with contextlib.suppress(OSError):
            for folder in os.scandir(self.root):
                if not folder.is_dir(follow_symlinks=False):
                    continue
                for item in os.scandir(folder.path):
                    with contextlib.suppress(OSError):
                        stat = item.stat(follow_symlinks=False)
                        if folder.name == "tmp":
                            if now - stat.st_mtime > _STALE_TEMP:
                                os.unlink(item.path)
                            continue
                        entries.append((stat.st_mtime, stat.st_size, item.path))
                        total += stat.st_size
        if total <= limit:
            return
        for _mtime, size, path in sorted(entries):
            if total <= limit * 0.8:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size


def current_deps(deps: dict[str, str | None], seen: dict[str, str | None]) -> bool:
    """Whether every file of ``deps`` has the digest recorded (``seen``: digests read so far)."""
    for path, digest in deps.items():
        if path not in seen:
            seen[path] = watch.file_digest(path)
        if seen[path] != digest:
            return False
    return True


def new_modules(known: dict[str, str]) -> dict[str, str | None] | None:
    """Project modules loaded now that ``known`` does not hold, with the bytes they were imported
    from; None if one was imported unseen."""
    found: dict[str, str | None] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not keys.keyed_module(path) or os.path.abspath(path) in known:
            continue
        digest = keys.module_signature(path)
        if digest is None:
            return None
        found[os.path.abspath(path)] = digest
    return found


__all__ = ["MAX_BYTES", "Store", "current_deps", "decode", "decode_log", "decode_log_content",
           "default_directory", "encode",
           "encode_log", "framed", "keepable", "keys", "new_modules", "unframed"]
