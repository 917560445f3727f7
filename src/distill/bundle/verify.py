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
from ..history.scripts import History
from ..names import one_line
from . import signing
from .archive import bundle_directory
from .builder import build_files
from .files import BundleTree, sha256
from .manifest import MANIFEST_FORMAT, file_entries, manifest_problems, spec_from_manifest

_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_SHOWN_AT_MOST = 16 << 20  # a differing file larger than this is named, not diffed


@dataclass(frozen=True)
class Finding:
    kind: str  # modified, missing, extra, checksums, manifest, edited, generator, rebuild, sql
    path: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail}


@dataclass
class Report:
    bundle: str
    files: int = 0
    findings: list[Finding] = field(default_factory=list)
    signature: str = ""  # who signed it, or that it is not signed

    @property
    def verified(self) -> bool:
        return not self.findings

    def add(self, kind: str, path: str, detail: str) -> None:
        # a path and a detail may quote a crafted bundle: one line, no terminal control characters
        self.findings.append(Finding(kind, one_line(path), one_line(detail)))

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "verified": self.verified, "files": self.files,
                "signature": self.signature, "findings": [f.to_json() for f in self.findings]}

    def text(self) -> str:
        signed = f"; {self.signature}" if self.signature else ""
        if self.verified:
            return f"{self.bundle}: VERIFIED ({self.files} files match SHA256SUMS and the manifest{signed})"
        lines = [f"{self.bundle}: NOT VERIFIED ({len(self.findings)} finding(s){signed})"]
        for f in self.findings:
            lines.append(f"  {f.kind:<9} {f.path}: {f.detail}")
        return "\n".join(lines)


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
    for path in sorted(set(files) - set(listed) - {"SHA256SUMS", signing.SIGNATURE}):
        report.add("extra", path, "in the bundle but not in SHA256SUMS")


def _check_manifest(files: BundleTree, report: Report) -> dict[str, Any] | None:
    raw = files.get("manifest.json")
    if raw is None:
        report.add("missing", "manifest.json", "the manifest is missing")
        return None
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        report.add("manifest", "manifest.json", f"is not valid JSON: {exc}")
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
    configured = history.settings.dialects if manifest.get("release") in history.settings.releases else ()
    for name in sorted(set(configured) - set(spec_from_manifest(manifest).dialects)):
        report.add("rebuild", name, "the project configures this dialect for its releases, but the "
                   "bundle has none of its files (removed, or released with --dialect)")
    # every file, the runbook and the manifest included: builds are reproducible, so bytes compare
    for path in sorted((set(files) | set(rebuilt)) - {signing.SIGNATURE}):
        if path not in rebuilt:
            report.add("rebuild", path, "shipped, but a rebuild no longer produces it")
        elif path not in files:
            report.add("rebuild", path, "a rebuild produces it, but it was not shipped")
        elif files.digest(path) != sha256(rebuilt[path]):
            kind = "sql" if path.endswith(".sql") else "rebuild"
            shown = (_unified(files[path], rebuilt[path], path)
                     if (files.root / path).stat().st_size <= _SHOWN_AT_MOST else "(too large to show)")
            report.add(kind, path, "differs from a rebuild: " + shown)


def verify(path: Path, *, rebuild_with: Callable[[], History] | None = None,
           allowed_signers: Path | None = None, identity: str | None = None) -> Report:
    """Verify the bundle directory or .tar.gz archive at ``path``; with ``rebuild_with``, also
    against a rebuild from the history it returns; with ``allowed_signers``, require a valid
    signature by one of them (``identity``, if given)."""
    path = Path(path)
    with bundle_directory(path) as directory:  # it refuses a path that does not exist
        return _verify_dir(directory, str(path), rebuild_with, allowed_signers, identity)


def _verify_dir(directory: Path, label: str, rebuild_with, allowed_signers, identity) -> Report:
    files = BundleTree(directory)
    report = Report(label, files=len(files))
    signature = signing.check(files.get("SHA256SUMS", b""), files.get(signing.SIGNATURE),
                              allowed_signers=allowed_signers, identity=identity)
    report.signature = signature.detail
    if not signature.valid and (signature.signed or allowed_signers is not None):
        report.add("signature", signing.SIGNATURE, signature.detail)
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
