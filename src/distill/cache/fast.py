"""Whole results of a command, found before the history loads (issue 32): a ``check`` or a
bundle whose inputs did not change neither imports a revision script nor renders.

A result's key is what can be known without loading the history: the command and its options
as resolved, distill's settings as read and the bytes of its configuration files, the versions
of what renders, distill's own source, what site-packages holds, the dialect data files and the
templates, the project modules this process imported already, the working directory, ``sys.path``
and the whole environment. What else the result depends on is listed in its entry and compared
when it is read: the bytes of every revision script, of env.py, of each project module imported
and each file read while loading and rendering (with the digests they had), and what each folder
listed while loading held. A result is kept only when every rendering it holds was found in the
render cache or kept there (rendered the same twice): what keeps a rendering out of the render
cache keeps the whole result out too.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..compat import watch
from ..resources import data_dir
from . import keys
from .store import Store, current_deps

_MAGIC = b"DISTILL-RESULT 1\n"
# a file a result holds: a plain relative path (no '..', not absolute, no control character)
_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*")


def command_key(settings: Any, command: str, options: Any) -> str | None:
    """The key of ``command``'s result with ``options`` (anything with a stable repr) for the
    project of ``settings``; None when it cannot be computed with certainty."""
    modules = keys.module_state()
    if modules is None:
        return None
    templates = data_dir("templates")
    return keys.combined(keys.FORMAT, "result-1", command, repr(options), keys.digest_of({
        "versions": keys.versions(), "distill": keys.distill_source(), "site_packages": keys.site_packages(),
        "settings": repr(settings), "config": keys.config_files(settings), "dialects": keys.dialect_files(),
        "templates": {p.name: watch.file_digest(str(p)) for p in sorted(templates.glob("*.mako"))},
        "modules": modules, "cwd": os.getcwd(), "environ": sorted(os.environ.items()),
        "path": list(sys.path), "executable": sys.executable}))


def keep(directory: Path, key: str | None, content: dict[str, Any], deps: dict[str, str | None] | None,
         listings: dict[str, list[str] | None] | None, files: dict[str, bytes] | None = None,
         index: dict[str, Any] | None = None) -> bool:
    """Keep a result (``deps``/``listings`` None: not certain, nothing kept); whether it was."""
    if key is None or deps is None or listings is None or None in listings.values():
        return False
    files = files or {}
    names = sorted(files)
    header = json.dumps({"key": key, "deps": deps, "listings": listings, "content": content, "index": index,
                         "files": [[name, len(files[name])] for name in names]},
                        sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    body = b"".join([header, *(files[name] for name in names)])
    data = _MAGIC + watch.digest_bytes(body).encode("ascii") + b" " + str(len(header)).encode("ascii") \
        + b"\n" + body
    return Store(directory).put(key, data, evict=True)


class Result:
    """One command's whole result in the cache (``key`` None: never found, never kept)."""

    def __init__(self, directory: Path | None, key: str | None) -> None:
        self.directory, self.key = directory, key
        self.stale_index: Any = None

    @classmethod
    def for_command(cls, directory: Path, settings: Any, command: str, options: Any) -> Result:
        return cls(directory, command_key(settings, command, options))

    def read(self) -> tuple[dict[str, Any], dict[str, bytes]] | None:
        """(content, files) kept by an earlier run with the same inputs; None if there is none.
        An intact entry of this key whose files changed since leaves its index (``seed``)."""
        if self.directory is None or self.key is None:
            return None
        entry = Store(self.directory).read(self.key, _decode)
        if entry is None:
            return None
        header, files = entry
        if current_deps(header["deps"], {}) and all(
                watch.listing(folder) == names for folder, names in header["listings"].items()):
            return header["content"], files
        self.stale_index = header.get("index")
        return None

    def seed(self, render_cache: Any) -> None:
        """Give ``render_cache`` the index of the entry ``read`` found out of date, if any."""
        if render_cache is not None and self.stale_index is not None:
            render_cache.seed(self.stale_index)

    def keep(self, render_cache: Any, content: dict[str, Any],
             files: Callable[[], dict[str, bytes]] | None = None) -> None:
        """Keep ``content`` (and the files ``files()`` reads) when every rendering it came from is in
        ``render_cache`` (a ``RenderCache`` whose ``result_keys`` were set: found there, or
        kept there in this run), with an index of those renderings for a later run."""
        if render_cache is None:
            return
        deps = None if self.directory is None or render_cache.result_keys is None else \
            render_cache.result_deps(render_cache.result_keys)
        listings = render_cache.history.loaded_listings
        listings = None if listings is None else {**render_cache.module_listings, **listings}
        from .. import alembic_compat as compat  # imported: the history loaded

        # what the command line warned about Alembic when this was made, to say again when it is
        # found (the versions are in the key, the files that decide it among the deps)
        content = {**content, "compatibility_warning": compat.compatibility_warning()}
        if deps is not None and keep(self.directory, self.key, content, deps,
                                     listings, None if files is None else files(),
                                     index=render_cache.index_of(render_cache.result_keys)):
            render_cache.unwritten_logs.clear()  # the result's index holds them
        render_cache.write_logs()


def _decode(data: bytes, key: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """(header, files) of an intact result entry of ``key``; None otherwise."""
    if not data.startswith(_MAGIC):
        return None
    line, _, body = data[len(_MAGIC):].partition(b"\n")
    digest, _, length = line.decode("ascii", "replace").partition(" ")
    if digest != watch.digest_bytes(body) or not length.isdigit():
        return None
    try:
        header = json.loads(body[:int(length)].decode("utf-8", "surrogatepass"))
        if header.get("key") != key or not isinstance(header.get("content"), dict):
            return None
        files, offset = {}, int(length)
        for name, size in header["files"]:
            if not isinstance(name, str) or not _FILE.fullmatch(name) or int(size) < 0:
                return None
            files[name] = body[offset:offset + int(size)]
            offset += int(size)
        folders = {name.rsplit("/", i)[0] for name in files for i in range(1, name.count("/") + 1)}
        if folders & set(files):  # a file where another file's folder would be
            return None
        if offset != len(body) or not all(
                isinstance(p, str) and (d is None or isinstance(d, str)) for p, d in header["deps"].items()) \
                or not all(isinstance(f, str) and isinstance(n, list) for f, n in header["listings"].items()):
            return None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return header, files


__all__ = ["Result", "command_key", "keep"]
