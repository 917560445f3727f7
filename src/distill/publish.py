"""Putting a built bundle on disk: nothing half-written, nothing overwritten silently.

The bundle is written to a temp dir next to the target and renamed into place. An existing bundle
is left alone when the new build is byte-identical, refused when it differs, and replaced
atomically (old moved aside, new renamed in, old removed) only with ``force``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .archive import archive_bytes
from .errors import DistillError
from .files import write_atomically

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


class ReleaseExists(DistillError):
    """The target exists with different content and --force was not given."""


def check_release_name(name: str) -> str:
    """``name`` if it is a plain release name usable as a directory name; DistillError otherwise."""
    if not _VERSION.match(name or "") or ".." in name:
        raise DistillError(
            f"{name!r} is not a plain release name: use letters, digits and . _ + - (at most 64, "
            "starting with a letter or digit, no '..'), not a path, spaces or control characters"
        )
    return name


def read_tree(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` by POSIX relative path (links are reported as such)."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            files[rel] = b"<symbolic link>"
        elif path.is_file():
            files[rel] = path.read_bytes()
    return files


@dataclass(frozen=True)
class Published:
    path: Path
    status: str  # "written", "unchanged", "replaced"
    archive: Path | None = None


def _write_tree(files: dict[str, bytes], parent: Path, prefix: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, 0o755)
    for rel, data in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)
    for directory in sorted((p for p in tmp.rglob("*") if p.is_dir()), reverse=True):
        os.chmod(directory, 0o755)
    return tmp


def publish(files: dict[str, bytes], target: Path, *, force: bool = False,
            archive: bool = False) -> Published:
    """Write the bundle ``files`` to the directory ``target`` (and ``target``.tar.gz)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    archive_path = target.parent / f"{target.name}.tar.gz"
    archive_data = archive_bytes(target.name, files) if archive else None
    status = "written"
    if target.exists() or target.is_symlink():
        existing = read_tree(target) if target.is_dir() and not target.is_symlink() else {}
        archive_differs = (archive_data is not None and archive_path.exists()
                           and archive_path.read_bytes() != archive_data)
        if existing == files and not archive_differs:
            if archive_data is not None and not archive_path.exists():
                write_atomically(archive_path, archive_data)  # derived from identical files
            return Published(target, "unchanged", archive_path if archive else None)
        if not force:
            changed = sorted((set(existing) ^ set(files))
                             | {p for p in files if existing.get(p, files[p]) != files[p]})
            if archive_differs:
                changed.append(archive_path.name)
            raise ReleaseExists(
                f"{target} already exists and differs from this build in {len(changed)} file(s) "
                f"({', '.join(changed[:5])}{', ...' if len(changed) > 5 else ''}); it is not "
                "overwritten. Use --force to replace it, or choose another --out."
            )
        status = "replaced"
    new = _write_tree(files, target.parent, f".{target.name}.new-")
    if status == "replaced":
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "bundle")
        os.replace(new, target)
        shutil.rmtree(old)
    else:
        os.replace(new, target)
    if archive_data is not None:
        write_atomically(archive_path, archive_data)
    return Published(target, status, archive_path if archive else None)
