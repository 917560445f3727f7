"""Writing a bundle's files: thousands of small ones, each 0644 whatever the umask, hashed as
they are written; and the SHA-256 every part of distill uses."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@cache
def current_umask() -> int:
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
        if current_umask() & 0o644:  # a umask such as 077 would make it 0600
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


class BundleTree(Mapping[str, bytes]):
    """The files below a bundle directory by POSIX relative path, read only when asked, their
    SHA-256 streamed from disk: verifying a large bundle never holds it in memory."""

    _CHUNK = 1 << 20

    def __init__(self, root: Path):
        self.root = root
        self._paths = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*"))
                       if p.is_symlink() or p.is_file()]
        self._known = set(self._paths)
        self._digests: dict[str, str] = {}

    def __getitem__(self, rel: str) -> bytes:
        if rel not in self:
            raise KeyError(rel)
        path = self.root / rel
        return b"<symbolic link>" if path.is_symlink() else path.read_bytes()

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, rel: object) -> bool:
        return rel in self._known

    def digest(self, rel: str) -> str:
        """The hex SHA-256 of file ``rel``, read in chunks (a link hashes as its marker text)."""
        if rel not in self._digests:
            path = self.root / rel
            if path.is_symlink():
                self._digests[rel] = sha256(self[rel])
            else:
                digest = hashlib.sha256()
                with open(path, "rb") as stream:
                    while chunk := stream.read(self._CHUNK):
                        digest.update(chunk)
                self._digests[rel] = digest.hexdigest()
        return self._digests[rel]


def restore_into(directory: Path, files: dict[str, bytes]) -> None:
    """Write into the empty ``directory`` a bundle kept whole by an earlier build with the same
    inputs (``cache.Result``: its paths are plain relative ones). Two threads, each its own
    folders (creating files in one folder takes its lock; the system calls release the GIL)."""
    current_umask()  # read once before the threads (reading it sets it for a moment)
    folders = sorted({path.partition("/")[0] for path in files})
    halves = [[p for p in sorted(files) if folders.index(p.partition("/")[0]) % 2 == n] for n in (0, 1)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(_write_all, directory, half, files) for half in halves]:
            done.result()


def _write_all(directory: Path, paths: list[str], files: dict[str, bytes]) -> None:
    for path in paths:
        write_file(directory, path, files[path])
