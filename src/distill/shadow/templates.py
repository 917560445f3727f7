"""The throwaway servers' freshly initialised data directories, kept between runs.

initdb (0.5 s) and mariadb-install-db (0.65 s) are most of a throwaway server's start-up, and a
pre-commit ``check --shadow`` starts one per server dialect every time. What they write depends
only on the server binaries and the options distill gives them, so the first start keeps a copy
of the data directory as it was initialised (before any server ran on it) under the render
cache's directory, and later starts copy that (``cp -a``: owners and modes kept, as the servers
require) instead. A copy that does not start is removed and the server initialised afresh; the
binaries changing (another path, size or time) names another template, and the kind's others go.
Only where the render cache is used (``check``); never with ``--no-cache``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

FOLDER = "servers-1"  # under the cache directory


def template_name(kind: str, binaries: list[str], options: list[str]) -> str:
    """``kind``-digest of the binaries (path, size, time) and the options that initialise it."""
    parts = [kind, *options]
    for binary in binaries:
        stat = os.stat(binary)
        parts += [binary, str(stat.st_size), str(stat.st_mtime_ns)]
    return f"{kind}-{hashlib.blake2b(chr(0).join(parts).encode(), digest_size=12).hexdigest()}"


def _copy(source: Path, target: Path) -> bool:
    """``cp -a source target``; whether it worked (what it left is removed when not)."""
    done = subprocess.run(["cp", "-a", str(source), str(target)], capture_output=True,
                          stdin=subprocess.DEVNULL).returncode == 0
    if not done:
        shutil.rmtree(target, ignore_errors=True)
    return done


def initialised(data: Path, cache: Path | None, name: str, init: Callable[[Path], None]) -> bool:
    """Make the data directory ``data``: a copy of the template ``name`` kept under ``cache`` if
    there is one (True); else ``init(data)``, kept as that template for the next start (False)."""
    folder = None if cache is None else cache / FOLDER / name
    if folder is not None and (folder / "data").is_dir() and _copy(folder / "data", data):
        return True
    init(data)
    if folder is not None:
        _keep(data, folder)
    return False


def _keep(data: Path, folder: Path) -> None:
    """Keep a copy of ``data`` as ``folder``/data (made under a temporary name, renamed into place:
    a process doing the same meanwhile keeps its own or none); the kind's other templates go."""
    temporary = folder.with_name(f".{folder.name}.{os.getpid()}")
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary.mkdir(mode=0o700)
        if _copy(data, temporary / "data"):
            os.rename(temporary, folder)
    except OSError:
        pass
    shutil.rmtree(temporary, ignore_errors=True)
    kind = folder.name.rsplit("-", 1)[0]
    for other in folder.parent.glob(f"{kind}-*"):
        if other != folder and other.name.rsplit("-", 1)[0] == kind:
            shutil.rmtree(other, ignore_errors=True)


def forget(cache: Path | None, name: str) -> None:
    """The template ``name`` did not start: it goes (the next start initialises afresh)."""
    if cache is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(cache / FOLDER / name)
