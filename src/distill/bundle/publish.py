"""Putting a built bundle on disk: nothing half-written, nothing overwritten silently.

The bundle is written (streamed) into a temp dir next to the target and renamed into place. An
existing bundle is left alone when the new build is byte-identical, refused when it differs, and
replaced only with ``force`` (and only if it is a distill bundle): swapped in one system call
where Linux has renameat2(RENAME_EXCHANGE), else by two renames. One build per target at a time;
leftovers of a killed build are removed by the next.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import filecmp
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DistillError
from ..names import one_line
from .archive import bundle_directory, write_archive, write_archive_file
from .files import BundleTree
from .signing import is_signature


class ReleaseExists(DistillError):
    """The target exists with different content and --force was not given."""


def read_tree(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` by POSIX relative path (links are reported as such),
    read into memory."""
    return dict(BundleTree(root))


@dataclass(frozen=True)
class Published:
    path: Path
    status: str  # "written", "unchanged", "replaced"
    archive: Path | None = None


def _differences(old: Path, new: Path) -> list[str]:
    """Relative paths that differ between two trees (added, removed or changed), streaming; a
    signature is no difference (a build is compared with a bundle that may have been signed)."""
    def listing(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
                if (p.is_file() or p.is_symlink()) and not is_signature(p.relative_to(root).as_posix())}

    a, b = listing(old), listing(new)
    changed = sorted(set(a) ^ set(b))
    for rel in sorted(set(a) & set(b)):
        if a[rel].is_symlink() or not filecmp.cmp(a[rel], b[rel], shallow=False):
            changed.append(rel)
    return sorted(changed)


def _archive_differs(directory: Path, archive_path: Path) -> bool:
    with tempfile.TemporaryFile() as fresh:
        write_archive(directory.name, directory, fresh)
        fresh.seek(0)
        with archive_path.open("rb") as shipped:
            while True:
                a, b = fresh.read(1 << 16), shipped.read(1 << 16)
                if a != b:
                    return True
                if not a:
                    return False


def _unsigned_copy(directory: Path, archive_path: Path) -> bool:
    """True when ``archive_path`` holds ``directory``'s files but some of its signatures (the
    directory was signed since): rewriting it loses nothing."""
    with bundle_directory(archive_path) as extracted:
        ours, theirs = BundleTree(directory), BundleTree(extracted)
        files = {rel for rel in ours if not is_signature(rel)}
        return extracted.name == directory.name and files <= set(theirs) and set(theirs) <= set(ours) \
            and all(ours.digest(rel) == theirs.digest(rel) for rel in theirs)




class UnsafeTarget(DistillError):
    """--out names something distill must never replace or walk."""

    exit_code = 2


def _refuse_unsafe(target: Path, protected: Sequence[Path], option: str) -> None:
    """Refuse a target that is ``/``, the home directory, a protected directory (the project,
    its script location) or one of their parents, or a directory holding a ``.git``."""
    resolved = target.resolve()
    for keep in (Path("/"), Path.home(), *protected):
        keep = keep.resolve()
        if keep == resolved or keep.is_relative_to(resolved):
            raise UnsafeTarget(f"{target} is {'' if keep == resolved else 'a parent of '}{keep}: distill "
                               f"writes a bundle only into a folder of its own; choose another {option}")
    if (resolved / ".git").exists():
        raise UnsafeTarget(f"{target} holds a .git folder: distill never replaces it; "
                           f"choose another {option}")


def archive_of(target: Path) -> Path:
    """Where ``--archive`` puts the archive of the bundle at ``target``: next to it."""
    return target.parent / f"{target.name}.tar.gz"


def _check_target(target: Path, force: bool, protected: Sequence[Path], option: str) -> None:
    """Refuse an unsafe target, and with ``force`` one that exists but is no distill bundle."""
    _refuse_unsafe(target, protected, option)
    a_bundle = target.is_dir() and not target.is_symlink() and is_bundle(target)
    archive_path = archive_of(target)
    if (archive_path.exists() or archive_path.is_symlink()) and not a_bundle:
        raise UnsafeTarget(f"{archive_path} exists but {target} is not its distill bundle: distill "
                           f"never replaces a file it did not write; move it, or choose another {option}")
    if force and (target.exists() or target.is_symlink()) and not a_bundle:
        raise UnsafeTarget(f"{target} exists and is not a distill bundle (no manifest.json made by "
                           f"distill): --force replaces only distill's own bundles; choose another {option}")


def is_bundle(path: Path) -> bool:
    """True for a directory whose manifest.json says distill made it."""
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("generator"), dict) and \
        "distill" in manifest["generator"]


def publish(write: Callable[[Path], None], target: Path, *, force: bool = False,
            archive: bool = False, protected: Sequence[Path] = (),
            sign: Callable[[Path], None] | None = None, option: str = "--out") -> Published:
    """Build the bundle with ``write(directory)`` into a temp dir next to ``target`` and put it
    in place (and ``target``.tar.gz with ``archive``). ``protected``: directories that ``target``
    may neither be nor contain (the project, its script location); ``/``, the home directory and
    a folder holding ``.git`` are always refused. Only a distill bundle is ever replaced.
    ``option``: the command's option that chose the target, as errors name it.
    ``sign(directory)`` signs the new bundle, or an unchanged one in place (signatures of the same
    SHA256SUMS with the same key are the same bytes). One build per target at a time (a lock
    file); what a killed build left next to the target is removed first."""
    target = Path(target)
    _check_target(target, force, protected, option)
    try:
        return _publish_locked(write, target, force=force, archive=archive, sign=sign, option=option)
    except OSError as exc:  # a read-only folder, a full disk: one sentence, the temp files gone
        where = exc.filename or target
        raise DistillError(f"cannot write the bundle {target}: {exc.strerror or exc} ({where}); "
                           "nothing was put in place") from None


def _publish_locked(write: Callable[[Path], None], target: Path, *, force: bool, archive: bool,
                    sign: Callable[[Path], None] | None, option: str) -> Published:
    target.parent.mkdir(parents=True, exist_ok=True)
    archive_path = archive_of(target)
    with _only_build_of(target):
        _remove_leftovers(target)
        new = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
        try:
            _fill(new, write, sign)
            status = _put_in_place(new, target, archive_path, force=force, archive=archive, sign=sign,
                                   option=option)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        if archive and (status != "unchanged" or not archive_path.exists()):
            write_archive_file(target, archive_path)
    return Published(target, status, archive_path if archive else None)


@contextlib.contextmanager
def _only_build_of(target: Path) -> Iterator[None]:
    """Hold ``.NAME.lock`` next to the target while building it; a second build is refused."""
    lock = target.parent / f".{target.name}.lock"
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UnsafeTarget(f"another distill is building {target} right now; run again when it "
                               "has finished") from None
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(target: Path) -> None:
    """Temp folders and archives a killed build of ``target`` left (only distill's own names)."""
    name = glob.escape(target.name)  # a name with * or ? matches only itself
    for leftover in target.parent.glob(f".{name}.*-*"):
        if leftover.name.startswith((f".{target.name}.new-", f".{target.name}.old-")) and leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in target.parent.glob(f".{name}.tar.gz.*"):
        if leftover.is_file() and leftover.name.startswith(f".{target.name}.tar.gz."):
            leftover.unlink(missing_ok=True)


def _fill(new: Path, write: Callable[[Path], None], sign: Callable[[Path], None] | None) -> None:
    os.chmod(new, 0o755)
    write(new)
    if sign is not None:
        sign(new)
    for folder, subfolders, _ in os.walk(new):
        for name in subfolders:
            os.chmod(os.path.join(folder, name), 0o755)


def _put_in_place(new: Path, target: Path, archive_path: Path, *, force: bool, archive: bool,
                  sign: Callable[[Path], None] | None, option: str) -> str:
    """"written", "unchanged" (``new`` removed) or "replaced"; ReleaseExists without ``force``."""
    if not (target.exists() or target.is_symlink()):
        os.replace(new, target)
        return "written"
    changed = _differences(target, new) if target.is_dir() and not target.is_symlink() \
        else ["(not a directory)"]
    archive_differs = archive and archive_path.exists() and not changed and \
        _archive_differs(target, archive_path)
    # the same bundle: signed in place, but only when nothing will refuse it afterwards (an archive
    # that differs beyond missing signatures would, and the bundle would be left half-signed)
    if not changed and sign is not None and (not archive_differs or _unsigned_copy(target, archive_path)):
        sign(target)
        if archive and archive_path.exists() and _archive_differs(target, archive_path):
            write_archive_file(target, archive_path)  # the same bundle, now carrying the new signature
        archive_differs = False
    if not changed and not archive_differs:
        shutil.rmtree(new)
        return "unchanged"
    if not force:
        if archive_differs:
            changed.append(archive_path.name)
        edited = _edited_revisions(target, new)
        cause = (f" The cause: revision(s) {', '.join(edited)} were edited after this bundle was built "
                 "(their scripts' SHA-256 differ from the manifest's); a shipped release should not "
                 "change: revert the edit, or ship it in a new release." if edited else "")
        raise ReleaseExists(
            f"{target} already exists and differs from this build in {len(changed)} file(s) "
            f"({', '.join(changed[:5])}{', ...' if len(changed) > 5 else ''}); it is not "
            f"overwritten.{cause} Use --force to replace it, or choose another {option}.")
    _swap(new, target)
    return "replaced"


def _edited_revisions(old: Path, new: Path) -> list[str]:
    """Revisions whose script SHA-256 differs between two bundles' manifests (sorted; none when a
    manifest cannot be read)."""
    try:
        scripts = [{s["revision"]: s["script_sha256"] for s in json.loads(
            (bundle / "manifest.json").read_text(encoding="utf-8"))["steps"]} for bundle in (old, new)]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return sorted(one_line(str(r)) for r in scripts[0].keys() & scripts[1].keys()
                  if scripts[0][r] != scripts[1][r])


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` where ``target`` is, atomically where Linux offers renameat2(RENAME_EXCHANGE);
    elsewhere two renames, between which a kill leaves the old bundle in ``.NAME.old-*`` (the
    next build removes it and writes the target again)."""
    if _exchange(new, target):
        shutil.rmtree(new)  # it now holds the old bundle
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, old / "bundle")
    os.replace(new, target)
    shutil.rmtree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one system call (Linux >= 3.15); False where that is not available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
