"""distill sign: a signature only on a bundle that verifies, on its directory and its archive alike.

A signature says "I checked this": distill first verifies the bundle (SHA256SUMS, the manifest
against the files, with ``--rebuild`` the sources) and refuses, writing nothing, when it does
not. The bundle's ``.tar.gz`` next to it (or the archive given alone) is rewritten, with the same
deterministic writer as ``--archive``, to carry the new signature, so both verify.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..bundle import signing
from ..bundle.archive import bundle_directory, write_archive_file
from ..bundle.files import BundleTree
from ..bundle.verify import verify
from ..errors import DistillError
from ..history.scripts import History

_ARCHIVE = ".tar.gz"


@dataclass(frozen=True)
class SignOff:
    signature: str  # the signature file's name in the bundle
    added: bool  # False: this key had signed it already
    written: tuple[str, ...]  # what was written: the directory's signature, the archive


def sign_bundle(path: Path, key: Path, *, rebuild_with: Callable[[], History] | None = None) -> SignOff:
    """Verify, then sign, the bundle directory or archive at ``path`` (and its other form)."""
    path = Path(path)
    if not Path(key).is_file():
        raise DistillError(f"the signing key {key} does not exist")
    if path.is_dir():
        directory = path
        archive = path.parent / f"{path.name}{_ARCHIVE}"
        archive = archive if archive.is_file() else None
    elif path.is_file() and path.name.endswith(_ARCHIVE):
        archive, directory = path, path.parent / path.name[:-len(_ARCHIVE)]
        directory = directory if directory.is_dir() else None
    else:
        raise DistillError(f"{path} is neither a bundle directory nor its {_ARCHIVE} archive: give the "
                           f"directory distill build or release wrote (or its {_ARCHIVE})")
    for form in (directory, archive):
        if form is not None:
            _refuse_unless_intact(form, rebuild_with)
    behind = directory is not None and archive is not None and _refuse_unless_same(directory, archive)
    if directory is None:
        assert archive is not None
        with bundle_directory(archive) as extracted:
            done = _sign_directory(extracted, key)
            if done.added:
                write_archive_file(extracted, archive)
        return SignOff(done.signature, done.added, (str(archive),) if done.added else ())
    done = _sign_directory(directory, key)
    if archive is not None and (done.added or behind):
        try:
            write_archive_file(directory, archive)
        except BaseException:
            if done.added:
                (directory / done.signature).unlink(missing_ok=True)  # nothing half-signed
            raise
    written = (*([str(directory / done.signature)] if done.added else []),
               *([str(archive)] if archive is not None and (done.added or behind) else []))
    return SignOff(done.signature, done.added, written)


def _refuse_unless_intact(form: Path, rebuild_with: Callable[[], History] | None) -> None:
    report = verify(form, rebuild_with=rebuild_with)
    if report.findings:
        shown = "; ".join(f"{f.kind} {f.path}: {f.detail}" for f in report.findings[:3])
        more = f" (and {len(report.findings) - 3} more)" if len(report.findings) > 3 else ""
        raise DistillError(f"{form} does not verify, so distill does not sign it (a signature says the "
                           f"bundle was checked): {len(report.findings)} finding(s): {shown}{more}. Run "
                           f"distill verify {form} for all of them, and rebuild the bundle with distill "
                           "release --force (or build) rather than editing it.")


def _refuse_unless_same(directory: Path, archive: Path) -> bool:
    """Whether ``archive`` lacks signatures ``directory`` has (signed after it was archived);
    refused when it holds anything else the directory does not (rewriting it would lose it)."""
    with bundle_directory(archive) as extracted:
        ours, theirs = BundleTree(directory), BundleTree(extracted)
        differ = sorted(rel for rel in (set(ours) | set(theirs)) - set(signing.signature_names(ours))
                        if rel not in ours or rel not in theirs or ours.digest(rel) != theirs.digest(rel))
        behind = any(rel not in theirs for rel in signing.signature_names(ours))
        clash = sorted(rel for rel in signing.signature_names(ours)
                       if rel in theirs and ours.digest(rel) != theirs.digest(rel))
    if clash:  # each holds a signature the other lacks: rewriting either would lose one
        raise DistillError(f"{directory} and {archive} each hold a different {', '.join(clash)} (signed "
                           "apart), so distill signs neither: rewriting the archive from the directory would "
                           "lose the archive's signature. Keep the one you trust, move the other away, and "
                           "sign again.")
    if differ:
        raise DistillError(f"{archive} does not hold the same files as {directory} ({', '.join(differ[:5])}"
                           f"{', ...' if len(differ) > 5 else ''}), so distill signs neither: rebuild the "
                           f"archive (distill release --archive --force), or sign {archive} on its own "
                           "after moving the directory away.")
    return behind


@dataclass(frozen=True)
class _Signed:
    signature: str
    added: bool


def _sign_directory(directory: Path, key: Path) -> _Signed:
    before = {name: (directory / name).read_bytes() for name in signing.signature_names(
        p.name for p in directory.iterdir())}
    made = signing.sign(directory, key)
    return _Signed(made.name, before.get(made.name) != made.read_bytes())
