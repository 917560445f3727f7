"""Reproducible .tar.gz archives of a bundle, and safe reading of archives someone hands us.

Writing: entries sorted, mtime from SOURCE_DATE_EPOCH (else 0), uid/gid 0 with empty owner
names, modes 0644/0755, PAX-free ustar headers, gzip level 6 with a header without file name or
time.
Reading: only regular files and directories, never an absolute path, a '..' component, a link
or a device; extraction happens only inside a fresh temp dir.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import DistillError


class UnsafeArchive(DistillError):
    """An archive entry that could write outside the extraction directory, or is not a file."""


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "0")
    try:
        return max(0, int(value))
    except ValueError:
        raise DistillError(f"SOURCE_DATE_EPOCH must be an integer, not {value!r}") from None


def write_archive(top: str, directory: Path, out: BinaryIO) -> None:
    """Stream a .tar.gz of every file below ``directory``, under the top directory ``top``."""
    mtime = source_date_epoch()
    paths = sorted(p for p in directory.rglob("*"))
    entries = [(top, None)] + [(f"{top}/{p.relative_to(directory).as_posix()}", p) for p in paths]
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=mtime, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, path in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
            if path is None or path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = path.stat().st_size, 0o644
                with path.open("rb") as handle:
                    tar.addfile(info, handle)


def safe_extract(archive: Path, destination: Path) -> Path:
    """Extract ``archive`` into the empty directory ``destination``; return the bundle dir in it.

    Refuses (UnsafeArchive) before writing anything if any entry is unsafe.
    """
    try:
        tar = tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise DistillError(f"{archive.name} is not a readable .tar.gz archive: {exc}") from None
    with tar:
        members = tar.getmembers()
        for member in members:
            path = PurePosixPath(member.name)
            if path.is_absolute() or member.name.startswith(("/", "\\")) or ".." in path.parts:
                raise UnsafeArchive(f"{archive.name}: refusing entry {member.name!r}: it points "
                                    "outside the archive (absolute path or '..')")
            if not (member.isfile() or member.isdir()):
                kind = "link" if (member.issym() or member.islnk()) else "device or special file"
                raise UnsafeArchive(f"{archive.name}: refusing entry {member.name!r}: it is a {kind}, "
                                    "and a bundle holds only regular files")
        tops = {PurePosixPath(m.name).parts[0] for m in members if PurePosixPath(m.name).parts}
        if len(tops) != 1:
            raise UnsafeArchive(f"{archive.name}: a bundle archive holds exactly one top directory, "
                                f"not {len(tops)} ({', '.join(sorted(tops)) or 'none'})")
        for member in members:
            target = destination / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
        return destination / tops.pop()
