"""Writing a bundle's files: thousands of small ones, each 0644 whatever the umask, hashed as
they are written; and the SHA-256 every part of distill uses."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@cache
def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MADE_DIRS: set[str] = set()


def write_file(directory: Path, path: str, data: bytes) -> str:
    """Write one bundle file (mode 0644 whatever the umask) and return its sha256: plain system
    calls, each directory made once."""
    parent = os.path.join(directory, os.path.dirname(path))
    if parent not in _MADE_DIRS:
        os.makedirs(parent, exist_ok=True)
        _MADE_DIRS.add(parent)
    target = os.path.join(directory, path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if _current_umask() & 0o644:  # a umask such as 077 would make it 0600
            os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
    return sha256(data)


class HashingFile:
    """A text file written in pieces, with the sha256 of its UTF-8 bytes once closed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._hash = hashlib.sha256()
        self.digest = ""

    def __enter__(self) -> HashingFile:
        self._file = self.path.open("wb")
        return self

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self._hash.update(data)
        self._file.write(data)

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        os.chmod(self.path, 0o644)
        self.digest = self._hash.hexdigest()
