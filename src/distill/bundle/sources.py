"""The revision scripts a bundle ships (``sources/``): every revision of its range, under its
path relative to the script location (as Sqitch bundles carry their change scripts), so that an
auditor can read the Python that produced the SQL and ``diff`` can show what an edit changed."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DistillError
from ..history.scripts import History
from .files import write_file

SOURCES = "sources"
# a plain relative path: every part starts with a letter, digit or _ (so no '..' part, no absolute
# path), no control or shell characters
_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*\.py")


def source_path(history: History, revision: str) -> str:
    """Where the bundle holds ``revision``'s script: ``sources/<path relative to the script
    location>`` (relative to the project root for a version location outside it)."""
    script = Path(history.get(revision).path).resolve()
    try:
        relative = script.relative_to(Path(history.script.dir).resolve()).as_posix()
    except ValueError:
        relative = history.relpath(script)
    if not _PATH.fullmatch(relative):
        raise DistillError(f"{history.relpath(script)}: revision {revision}: its path {relative[:80]!r} "
                           "cannot be a file name in a bundle (letters, digits and . _ + - in each part)")
    return f"{SOURCES}/{relative}"


def write_sources(history: History, steps: list[dict], directory: Path) -> dict[str, str]:
    """Each step's script into ``directory`` at its manifest ``source``; path -> SHA-256."""
    return {step["source"]: write_file(directory, step["source"],
                                       Path(history.get(step["revision"]).path).read_bytes())
            for step in steps}
