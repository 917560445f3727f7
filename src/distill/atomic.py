"""Writing outputs so that nothing is ever half-written: temp file, then rename into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import DistillError


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``: either the whole new content is there afterwards, or the old.
    Its folder must exist: a typo in ``-o`` is an error, not a new folder tree."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DistillError(f"cannot write {path}: the folder {path.parent} does not exist (distill "
                           "does not create it)")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
