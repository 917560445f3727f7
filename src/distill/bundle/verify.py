"""Verifying a bundle: untampered (SHA256SUMS), consistent (manifest), and with --rebuild, still
what the current sources produce (edited revisions, changed generator versions, different SQL)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DistillError
from ..history import releases
from ..history.scripts import History
from ..names import one_line
from . import signing
from .archive import bundle_directory
from .builder import build_files
from .files import BundleTree, sha256
from .manifest import (
    MANIFEST_FORMAT,
    MAX_MANIFEST_BYTES,
    UnreadableManifest,
    file_entries,
    manifest_problems,
    parse_manifest,
    spec_from_manifest,
)
from .verify_steps import check_runbook, check_steps

_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_SHOWN_AT_MOST = 16 << 20  # a differing file larger than this is named, not diffed


@dataclass(frozen=True)
class Finding:
    kind: str  # modified, missing, extra, checksums, manifest, edited, generator, rebuild, sql
    path: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail}


VERIFIED, INTACT, NOT_VERIFIED = "VERIFIED", "INTACT", "NOT VERIFIED"


@dataclass
class Report:
    """VERIFIED: intact and signed by enough trusted signers (checked against allowed signers).
    INTACT: the files match SHA256SUMS and the manifest, but no trusted keys were given, so who
    made the bundle is NOT known (whoever can edit it can re-hash and re-sign it). NOT VERIFIED:
    findings."""

    bundle: str
    files: int = 0
    findings: list[Finding] = field(default_factory=list)
    signatures: list[signing.Signature] = field(default_factory=list)
    trusted_keys: bool = False  # allowed signers were given: authenticity was checked
    required: int = 1
    release: str = ""  # "release 1.1 of bookshop (6f4a6c5d9e06 -> bc9f1b0c4d11)", from the manifest
    notes: list[str] = field(default_factory=list)  # what could not be checked

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def verified(self) -> bool:
        """Intact and authenticated: only ever true with trusted keys."""
        return self.intact and self.trusted_keys

    @property
    def result(self) -> str:
        return NOT_VERIFIED if self.findings else VERIFIED if self.trusted_keys else INTACT

    @property
    def signers(self) -> list[str]:
        return sorted({s.principal for s in self.signatures if s.valid and s.principal})

    @property
    def signature(self) -> str:
        """Who signed it, or that it is not signed, in one line."""
        return "; ".join(f"{s.file}: {s.detail}" for s in self.signatures) or "not signed"

    def add(self, kind: str, path: str, detail: str) -> None:
        # a path and a detail may quote a crafted bundle: one line, no terminal control characters
        self.findings.append(Finding(kind, one_line(path), one_line(detail)))

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "result": self.result, "verified": self.verified,
                "intact": self.intact, "authenticity_checked": self.trusted_keys, "release": self.release,
                "files": self.files, "signers": self.signers, "required_signers": self.required,
                "signature": self.signature,
                "signatures": [{"file": s.file, "valid": s.valid, "key": s.key, "signer": s.principal,
                                "detail": s.detail} for s in self.signatures],
                "findings": [f.to_json() for f in self.findings], "notes": self.notes}

    def text(self) -> str:
        what = self.release or "no readable manifest"
        notes = [f"  note: {note}" for note in self.notes]
        if self.findings:
            kinds = ", ".join(dict.fromkeys(f.kind for f in self.findings))
            lines = [f"{self.bundle}: NOT VERIFIED: {what}: {len(self.findings)} finding(s) ({kinds})"]
            lines += [f"  {f.kind:<9} {f.path}: {f.detail}" for f in self.findings]
            return "\n".join([*lines, f"  signatures: {self.signature}", *notes])
        matched = f"{self.files} files match SHA256SUMS and the manifest"
        if self.trusted_keys:
            signers = ", ".join(self.signers)
            return "\n".join([f"{self.bundle}: VERIFIED: {what}: {matched}; signed by {signers} "
                              f"({len(self.signers)} allowed signer(s), {self.required} required)",
                              f"  signatures: {self.signature}", *notes])
        return "\n".join([f"{self.bundle}: INTACT (authenticity NOT checked): {what}: {matched}; "
                          f"{self.signature}. Anyone who can edit the bundle can re-hash and re-sign it: to "
                          "know who made it, give --allowed-signers FILE (or set verify_signers in "
                          "[tool.distill])", *notes])


def _check_sums(files: BundleTree, report: Report) -> None:
    sums = files.get("SHA256SUMS")
    if sums is None:
        report.add("missing", "SHA256SUMS", "the checksum file is missing")
        return
    listed: dict[str, str] = {}
    # every line is checked, as sha256sum -c does: a second line for a path does not hide the first
    for number, line in enumerate(sums.decode("utf-8", errors="replace").splitlines(), 1):
        match = _SUM_LINE.match(line)
        if not match:
            report.add("checksums", "SHA256SUMS", f"line {number} is not '<sha256>  <path>': {line[:60]!r}")
            continue
        path, digest = match[2], match[1]
        if path in listed:
            report.add("checksums", "SHA256SUMS", f"line {number} lists {path} a second time")
        listed[path] = digest
        if path not in files:
            report.add("missing", path, "listed in SHA256SUMS but not in the bundle")
        elif files.digest(path) != digest:
            report.add("modified", path, f"its sha256 differs from SHA256SUMS (line {number})")
    for path in sorted(set(files) - set(listed) - {"SHA256SUMS", *signing.signature_names(files)}):
        report.add("extra", path, "in the bundle but not in SHA256SUMS")


def _check_manifest(files: BundleTree, report: Report) -> dict[str, Any] | None:
    if "manifest.json" not in files:
        report.add("missing", "manifest.json", "the manifest is missing")
        return None
    raw = _head(files.root / "manifest.json", MAX_MANIFEST_BYTES + 1)  # never more than the limit
    try:
        manifest = parse_manifest(raw)
    except UnreadableManifest as exc:
        report.add("manifest", "manifest.json", str(exc))
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        report.add("manifest", "manifest.json", f"is not a {MANIFEST_FORMAT} manifest")
        return None
    problems = manifest_problems(manifest)
    for problem in problems:
        report.add("manifest", "manifest.json", problem)
    if problems:
        return None
    described = set()
    for entry in file_entries(manifest):
        path = entry.get("file", "")
        described.add(path)
        if path not in files:
            report.add("manifest", path, "named in manifest.json but not in the bundle")
        elif files.digest(path) != entry.get("sha256"):
            report.add("manifest", path, "its sha256 differs from manifest.json")
    for path in sorted(p for p in files if p.endswith(".sql") and p not in described):
        report.add("manifest", path, "a SQL file manifest.json does not describe")
    try:
        check_steps(files, manifest, report.add)
        note = check_runbook(files, manifest, report.add)
    except (KeyError, TypeError, ValueError) as exc:  # a crafted manifest the schema lets through
        report.add("manifest", "manifest.json", f"its steps cannot be compared with the files "
                   f"({type(exc).__name__}: {exc})")
        note = ""
    if note:
        report.notes.append(note)
    report.release = one_line(f"release {manifest['release']} of {manifest['project']} "
                              f"({','.join(manifest['range']['from']) or 'base'} -> "
                              f"{','.join(manifest['range']['to'])})")[:300]
    return manifest


def _unified(old: bytes, new: bytes, path: str, limit: int = 12) -> str:
    diff = list(difflib.unified_diff(old.decode(errors="replace").splitlines(),
                                     new.decode(errors="replace").splitlines(),
                                     f"shipped/{path}", f"rebuilt/{path}", lineterm="", n=1))
    shown = [d for d in diff[2:] if d[:1] in "+-"][:limit]
    more = " ..." if len([d for d in diff[2:] if d[:1] in "+-"]) > limit else ""
    return " | ".join(shown) + more


def _rebuild(files: BundleTree, manifest: dict[str, Any], history: History, report: Report) -> None:
    for step in manifest.get("steps", []):
        revision, script = step["revision"], step.get("script", "?")
        try:
            current = history.script_sha256(revision)
        except Exception:  # the revision no longer exists
            report.add("edited", script, f"revision {revision} is no longer in the history")
            continue
        if current != step.get("script_sha256"):
            path = history.get(revision).path
            shipped = files[step["source"]] if step.get("source") in files else None
            change = (": " + _unified(shipped, Path(path).read_bytes(), step["source"])) if shipped else ""
            report.add("edited", history.relpath(path),
                       f"EDITED AFTER RELEASE: revision {revision} ({step.get('message', '')}) "
                       f"differs from the script that was shipped{change}")
    try:
        rebuilt = build_files(history, spec_from_manifest(manifest))
    except DistillError as exc:
        report.add("rebuild", "(bundle)", f"cannot be rebuilt from the current sources: {exc}")
        return
    shipped_gen = manifest.get("generator", {})
    rebuilt_gen = json.loads(rebuilt["manifest.json"]).get("generator", {})
    for key in sorted(set(shipped_gen) | set(rebuilt_gen)):
        if shipped_gen.get(key) != rebuilt_gen.get(key):
            report.add("generator", key, f"shipped with {shipped_gen.get(key)}, now {rebuilt_gen.get(key)}")
    _missing_dialects(manifest, history, report)
    # every file, the runbook and the manifest included: builds are reproducible, so bytes compare
    for path in sorted((set(files) | set(rebuilt)) - set(signing.signature_names(files))):
        if path not in rebuilt:
            report.add("rebuild", path, "shipped, but a rebuild no longer produces it")
        elif path not in files:
            report.add("rebuild", path, "a rebuild produces it, but it was not shipped")
        elif files.digest(path) != sha256(rebuilt[path]):
            kind = "sql" if path.endswith(".sql") else "rebuild"
            shown = (_unified(files[path], rebuilt[path], path)
                     if (files.root / path).stat().st_size <= _SHOWN_AT_MOST else "(too large to show)")
            report.add(kind, path, "differs from a rebuild: " + shown)


def _missing_dialects(manifest: dict[str, Any], history: History, report: Report) -> None:
    """A dialect the release is built for (the dialects it declares in [tool.distill.releases],
    else the project's) that the bundle has none of the files of."""
    settings, release = history.settings, manifest.get("release")
    if not isinstance(release, str) or release not in settings.releases:
        return
    declared = release in settings.release_dialects
    built = set(spec_from_manifest(manifest).dialects)
    for name in sorted(set(releases.release_dialects(settings, release)) - built):
        why = (f"release {release} declares this dialect in [tool.distill.releases]" if declared
               else "the project configures this dialect for its releases")
        report.add("rebuild", name, f"{why}, but the bundle has none of its files (removed, or released "
                   "with --dialect)")


def verify(path: Path, *, rebuild_with: Callable[[], History] | None = None,
           allowed_signers: Path | None = None, identity: str | None = None, require: int = 1) -> Report:
    """Verify the bundle directory or .tar.gz archive at ``path``; with ``rebuild_with``, also
    against a rebuild from the history it returns; with ``allowed_signers``, require valid
    signatures by ``require`` distinct allowed signers (``identity`` among them, if given)."""
    path = Path(path)
    with bundle_directory(path) as directory:  # it refuses a path that does not exist
        report = _verify_dir(directory, str(path), rebuild_with, allowed_signers, (identity, require))
        if directory != path:
            _check_archive_name(path, directory, report)
        return report


def _check_archive_name(archive: Path, top: Path, report: Report) -> None:
    """An archive is named after its top folder, and that after the release it holds (``V`` or
    ``V-from-F``): a signed 1.0 archive copied to 2.0.tar.gz is a finding, not a 2.0."""
    name = archive.name.removesuffix(".tar.gz")
    if name != top.name:
        report.add("archive", archive.name, f"its name says {name!r}, but it holds the bundle folder "
                   f"{top.name!r} (renamed after it was made?)")
    released = _released(top)
    if released is not None and name.split("-from-")[0] != released:
        report.add("archive", archive.name, f"its name says {name!r}, but its manifest is of release "
                   f"{released!r}")


def _released(top: Path) -> str | None:
    try:
        release = parse_manifest((top / "manifest.json").read_bytes()).get("release")
    except (OSError, UnreadableManifest, AttributeError):
        return None
    return release if isinstance(release, str) else None


def _check_signatures(files: BundleTree, report: Report, allowed_signers: Path | None,
                      identity: str | None, require: int) -> None:
    sums = files.get("SHA256SUMS", b"")
    names = signing.signature_names(files)
    if len(names) > signing.MAX_SIGNATURES:
        report.add("signature", names[-1], f"{len(names)} signature files, more than the "
                   f"{signing.MAX_SIGNATURES} distill reads")
        names = names[:signing.MAX_SIGNATURES]
    missing = signing.numbering_gap(names)
    if missing is not None:
        report.add("signature", names[-1], "the signatures are not numbered consecutively "
                   f"({', '.join(names)}: no {missing}), and a DBA's manual check reads "
                   f"{signing.SIGNATURE} first; rename them SHA256SUMS.sig, SHA256SUMS.2.sig, ... in order")
    report.signatures = [signing.check(sums, _head(files.root / name, signing.MAX_SIGNATURE_BYTES + 1),
                                       allowed_signers=allowed_signers, file=name) for name in names]
    for found in report.signatures:
        if not found.intact and not found.valid:
            report.add("signature", found.file, found.detail)
    if allowed_signers is None:
        return
    report.trusted_keys, report.required = True, require
    signers = report.signers
    if len(signers) < require or (identity is not None and identity not in signers):
        wanted = f"{require} required" + (f", {identity} among them" if identity else "")
        report.add("signature", signing.SIGNATURE,
                   ("the bundle is not signed (no SHA256SUMS.sig)" if not names else
                    f"valid signatures by {len(signers)} allowed signer(s) of {allowed_signers}"
                    f" ({', '.join(signers) or 'none'}); {wanted}"))


def _head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file (a crafted one may be huge)."""
    if path.is_symlink():  # a finding of its own; never read through
        return b""
    with open(path, "rb") as handle:
        return handle.read(size)


def _verify_dir(directory: Path, label: str, rebuild_with, allowed_signers, wanted) -> Report:
    files = BundleTree(directory)
    report = Report(label, files=len(files))
    _check_signatures(files, report, allowed_signers, *wanted)
    for rel in sorted(files):
        if (directory / rel).is_symlink():
            report.add("extra", rel, "is a symbolic link; a bundle holds only regular files")
    for entry in sorted(directory.rglob("*")):  # anything but regular files and their folders
        rel = entry.relative_to(directory).as_posix()
        if entry.is_dir() and not entry.is_symlink() and not any(entry.iterdir()):
            report.add("extra", rel, "is an empty folder; a bundle holds only its files")
        elif not entry.is_symlink() and not entry.is_dir() and not entry.is_file():
            report.add("extra", rel, "is not a regular file (a FIFO, socket or device)")
    _check_sums(files, report)
    manifest = _check_manifest(files, report)
    if rebuild_with is not None and manifest is not None:
        _rebuild(files, manifest, rebuild_with(), report)
    return report
