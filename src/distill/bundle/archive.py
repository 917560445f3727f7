"""Reproducible .tar.gz archives of a bundle, and safe reading of archives someone hands us.

Writing: entries sorted, mtime from SOURCE_DATE_EPOCH (else 0), uid/gid 0 with empty owner
names, modes 0644/0755, PAX-free ustar headers, gzip level 6 with a header without file name or
time.
Reading: only regular files and directories, never an absolute path, a '..' component, a link
or a device; extraction happens only inside a fresh temp dir.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import queue
import shutil
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import DistillError, UnsafeArchive
from ..progress import Progress


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "0")
    try:
        return max(0, int(value))
    except ValueError:
        raise DistillError(f"SOURCE_DATE_EPOCH must be an integer, not {value!r}") from None


_BLOCK = 512
_RECORD = 20 * _BLOCK  # tar pads the archive to whole records, like ``tar -b20``
_FLUSH_AT = 1 << 20


def _octal(value: int, width: int) -> bytes:
    if not 0 <= value < 8 ** (width - 1):
        raise DistillError(f"a tar header field cannot hold {value} (at most {8 ** (width - 1) - 1})")
    return b"%0*o\0" % (width - 1, value)


def _field(text: str, width: int) -> bytes:
    raw = text.encode("utf-8", "surrogateescape")
    return raw[:width] + b"\0" * (width - len(raw))


def _split_long_name(name: str) -> tuple[str, str]:
    """(prefix, name) for a ustar name over 100 bytes, split at a '/' exactly as tarfile does."""
    parts = name.split("/")
    for i in range(1, len(parts)):
        prefix, rest = "/".join(parts[:i]), "/".join(parts[i:])
        if len(prefix.encode("utf-8", "surrogateescape")) <= 155 and \
                len(rest.encode("utf-8", "surrogateescape")) <= 100:
            return prefix, rest
    raise DistillError(f"{name!r} is too long for a ustar archive entry")


_OWNER = _octal(0, 8) * 2  # uid, gid
_CHECKSUM_BLANK = b" " * 8
# linkname, magic + version, uname, gname, devmajor, devminor: the same in every header
_AFTER_TYPE = b"".join((_field("", 100), tarfile.POSIX_MAGIC, _field("", 32), _field("", 32),
                        _field("", 8), _field("", 8)))


def ustar_header(name: str, *, size: int, mtime: int, directory: bool) -> bytes:
    """The 512-byte ustar header tarfile writes for a file or directory owned by 0:0 with empty
    owner names (the same bytes, without tarfile's per-entry overhead: bundles have thousands)."""
    if directory and not name.endswith("/"):
        name += "/"
    prefix = ""
    if len(name.encode("utf-8", "surrogateescape")) > 100:
        prefix, name = _split_long_name(name)
    header = b"".join((
        _field(name, 100), _octal(0o755 if directory else 0o644, 8), _OWNER,
        _octal(0 if directory else size, 12), _octal(mtime, 12), _CHECKSUM_BLANK,
        tarfile.DIRTYPE if directory else tarfile.REGTYPE, _AFTER_TYPE, _field(prefix, 155),
    )).ljust(_BLOCK, b"\0")
    checksum = sum(header)  # the checksum field counts as eight spaces, as it is here
    return header[:148] + b"%06o\0" % checksum + header[155:]


def _entries(directory: Path, top: str) -> list[tuple[str, str | None]]:
    """(archive name, file path or None for a directory), sorted by archive name."""
    found: list[tuple[str, str | None]] = [(top, None)]
    pending = [(str(directory), top)]
    while pending:
        folder, name = pending.pop()
        with os.scandir(folder) as listing:
            for entry in listing:
                child = f"{name}/{entry.name}"
                if entry.is_dir():
                    found.append((child, None))
                    if not entry.is_symlink():  # as rglob: never into a linked folder (loops)
                        pending.append((entry.path, child))
                else:
                    found.append((child, entry.path))
    return sorted(found)


class _WrittenBehind:
    """Calls ``write`` with each chunk on a second thread: zlib compresses without holding the
    GIL, so compressing overlaps reading the next files and building their headers."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="distill-archive", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            if self._error is None:
                try:
                    self._write(chunk)
                except BaseException as exc:  # re-raised on the caller's thread
                    self._error = exc

    def __call__(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._chunks.put(chunk)

    def close(self) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def write_archive(top: str, directory: Path, out: BinaryIO) -> None:
    """Stream a .tar.gz of every file below ``directory``, under the top directory ``top``."""
    mtime = source_date_epoch()
    entries = _entries(directory, top)
    progress, done = Progress(["files"], [len(entries)], ("archiving",)), [0]
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=mtime, compresslevel=6) as gz:
        write = _WrittenBehind(gz.write)
        try:
            pending: list[bytes] = []
            size = offset = 0
            for name, path in entries:
                done[0] += 1
                progress.draw(done)
                if path is None:
                    pending.append(ustar_header(name, size=0, mtime=mtime, directory=True))
                    size += _BLOCK
                else:
                    with open(path, "rb") as handle:
                        data = handle.read()
                    padding = -len(data) % _BLOCK
                    pending += (ustar_header(name, size=len(data), mtime=mtime, directory=False), data,
                                b"\0" * padding)
                    size += _BLOCK + len(data) + padding
                if size - offset > _FLUSH_AT:
                    write(b"".join(pending))
                    pending, offset = [], size
            size += 2 * _BLOCK  # two zero blocks end the archive, then zeros to a whole record
            pending.append(b"\0" * (2 * _BLOCK + -size % _RECORD))
            write(b"".join(pending))
        finally:
            write.close()
            progress.draw(done, final=True)


def write_archive_file(directory: Path, archive_path: Path) -> None:
    """``archive_path`` (re)written atomically as the .tar.gz of ``directory`` (the same
    deterministic bytes whoever writes it: ``--archive``, or ``sign`` adding a signature)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{archive_path.name}.", dir=archive_path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write_archive(directory.name, directory, out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, archive_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Limits, each a few times the largest plausible bundle (10,000 revisions x 6 dialects x 2 files
# and their SQL): beyond them an archive is refused before anything is written.
MAX_ENTRIES = 500_000
MAX_TOTAL_BYTES = 1 << 30  # 1 GiB expanded
MAX_NAME_BYTES = 255  # one path component
MAX_PATH_BYTES = 1024
MAX_DEPTH = 16


class BadArchive(DistillError):
    """An archive that cannot be read to its end (truncated, corrupt): the check cannot run."""

    exit_code = 2


def _refuse_member(archive: Path, member: tarfile.TarInfo) -> str | None:
    """Why ``member`` may not be extracted, or None."""
    if "\x00" in member.name or not member.name.isprintable() or _undecodable(member.name):
        return "its name holds NUL, control characters or bytes that are not UTF-8"
    path = PurePosixPath(member.name)
    if path.is_absolute() or member.name.startswith(("/", "\\")) or ".." in path.parts:
        return "it points outside the archive (absolute path or '..')"
    if not (member.isfile() or member.isdir()):
        kind = "link" if (member.issym() or member.islnk()) else "device or special file"
        return f"it is a {kind}, and a bundle holds only regular files"
    if member.issparse():
        return "it is a sparse file"
    if len(path.parts) > MAX_DEPTH or len(member.name.encode()) > MAX_PATH_BYTES or any(
            len(part.encode()) > MAX_NAME_BYTES for part in path.parts):
        return f"its path is deeper than {MAX_DEPTH} folders or longer than the limits"
    return None


def _undecodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeError:
        return True
    return False


def _members(archive: Path, tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Every member, checked against the limits before anything is written."""
    members, total = [], 0
    for member in tar:
        members.append(member)
        why = _refuse_member(archive, member)
        if why:
            raise UnsafeArchive(f"{archive.name}: refusing entry {member.name[:200]!r}: {why}")
        total += member.size
        if len(members) > MAX_ENTRIES or total > MAX_TOTAL_BYTES:
            raise UnsafeArchive(f"{archive.name}: refusing the archive: more than {MAX_ENTRIES} entries or "
                                f"{MAX_TOTAL_BYTES >> 20} MiB expanded, far beyond any bundle")
    return members


def safe_extract(archive: Path, destination: Path) -> Path:
    """Extract ``archive`` into the empty directory ``destination``; return the bundle dir in it.

    Refuses (UnsafeArchive) before writing anything if any entry is unsafe or the limits are
    exceeded; BadArchive (exit 2) if it cannot be read to its end, gzip trailer included.
    """
    try:
        with tarfile.open(archive, mode="r:gz") as tar:  # a bundle archive is a .tar.gz
            members = _members(archive, tar)
            tops = {PurePosixPath(m.name).parts[0] for m in members if PurePosixPath(m.name).parts}
            if len(tops) != 1:
                raise UnsafeArchive(f"{archive.name}: a bundle archive holds exactly one top directory, "
                                    f"not {len(tops)} ({', '.join(sorted(tops)[:5]) or 'none'})")
            _write_members(archive, tar, members, destination)
            while tar.fileobj.read(1 << 20):  # to the end: a cut gzip trailer is an error too
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError, ValueError) as exc:
        raise BadArchive(f"{archive.name} cannot be read to its end (truncated or corrupt): "
                         f"{type(exc).__name__}: {exc}") from None
    return destination / tops.pop()


def _write_members(archive: Path, tar: tarfile.TarFile, members: list[tarfile.TarInfo],
                   destination: Path) -> None:
    for member in members:
        target = destination / member.name
        try:
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise FileExistsError(member.name)
            source = tar.extractfile(member)
            assert source is not None
            with target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)  # streamed: memory stays small
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise UnsafeArchive(f"{archive.name}: entry {member.name[:200]!r} conflicts with another "
                                f"entry of the same path ({type(exc).__name__})") from None


_WORKDIR = "distill-bundle-"


def _remove_orphans() -> None:
    """Extraction folders of distill processes that were killed (SIGKILL runs no cleanup): the
    pid in a folder's name is no longer running. Only distill's own names, only our user's."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_WORKDIR}*-*"):
        pid = folder.name[len(_WORKDIR):].split("-")[0]
        if not pid.isdigit() or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            if folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, OverflowError):  # alive under another user, or not ours to judge
            continue


@contextlib.contextmanager
def bundle_directory(path: Path) -> Iterator[Path]:
    """The bundle at ``path``: a directory as it is, or an archive safely extracted into a temp
    dir that is removed afterwards."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise DistillError(f"{path} does not exist: give a bundle directory or a .tar.gz archive")
    _remove_orphans()
    workdir = Path(tempfile.mkdtemp(prefix=f"{_WORKDIR}{os.getpid()}-"))
    try:
        yield safe_extract(path, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
