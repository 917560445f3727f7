"""Comparing two bundles for auditors: which revisions came in or went, which shipped revision
script was EDITED AFTER RELEASE, what SQL changed (per dialect, per step, as unified diffs), and
which generator versions or options changed.

Steps are matched by revision, not by number: a step's SQL is compared with the same revision's
SQL in the other bundle. The whole-file upgrade.sql / downgrade.sql are compared only when both
bundles cover the same range (a rebuild, or the same release shipped twice).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import dialects
from ..bundle.archive import bundle_directory
from ..bundle.manifest import manifest_problems, parse_manifest
from ..bundle.publish import read_tree
from ..errors import DistillError
from ..statements.formatting import significant_tokens
from ..statements.lexer import tokenize
from .manifest_diff import manifest_changes
from .schema_summary import release_summaries

DIFF_FORMAT = "distill-diff"
DIFF_VERSION = 1


@dataclass
class Side:
    """One bundle, in memory: its label, files and manifest."""

    label: str
    files: dict[str, bytes]
    manifest: dict[str, Any]

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        return {s["revision"]: s for s in self.manifest.get("steps", [])}


def side_from_files(label: str, files: dict[str, bytes]) -> Side:
    """A bundle held in memory (a rebuild), by relative path."""
    try:
        manifest = parse_manifest(files["manifest.json"])
    except (KeyError, ValueError) as exc:  # UnreadableManifest is a ValueError
        raise DistillError(f"{label} is not a distill bundle: no readable manifest.json ({exc})") from None
    problems = manifest_problems(manifest)
    if problems:
        raise DistillError(f"{label} has a malformed manifest.json: {'; '.join(problems)}")
    return Side(label, files, manifest)


def load_side(path: Path, label: str | None = None) -> Side:
    """A bundle directory or .tar.gz archive."""
    if not path.exists():
        raise DistillError(f"{path} is neither a bundle directory, an archive nor a known release version")
    with bundle_directory(path) as directory:
        return side_from_files(label or str(path), read_tree(directory))


@dataclass
class SqlDifference:
    dialect: str
    what: str  # "upgrade.sql", "downgrade.sql", or "<revision> up|down"
    revision: str | None
    old_path: str | None
    new_path: str | None
    old_text: str
    new_text: str
    unified: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "what": self.what, "revision": self.revision,
                "old_file": self.old_path, "new_file": self.new_path, "diff": self.unified}


@dataclass
class DiffReport:
    old: Side
    new: Side
    ignore_formatting: bool
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    edited: list[dict[str, Any]] = field(default_factory=list)
    generator: list[dict[str, Any]] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)
    sql: list[SqlDifference] = field(default_factory=list)
    runbook: list[str] = field(default_factory=list)  # unified diff of the two README.md
    # manifest fields that differ and no other part shows (the project, a step's findings ...)
    manifest: list[dict[str, Any]] = field(default_factory=list)
    # consecutive releases: what each does to the schema, per dialect (release -> dialect -> ...)
    schema: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)

    @property
    def differs(self) -> bool:
        return any((self.added, self.removed, self.edited, self.generator, self.options, self.sql,
                    self.runbook, self.manifest))

    def titles(self) -> tuple[str, str]:
        """How the revisions of only one side are titled: added/removed when one range holds the
        other (the same range included), 'only in <release>' for ranges that only overlap."""
        if _nested(self.old, self.new):
            return "revisions added", "revisions removed"
        return (f"revisions only in {self.new.manifest.get('release')}",
                f"revisions only in {self.old.manifest.get('release')}")

    def changes(self) -> list[dict[str, Any]]:
        """The SQL differences, each distinct change once with the places it occurs ("mysql,
        mariadb: upgrade.sql, ef2c8e7f1a14 up"): the same edit repeats across dialects and in a
        whole file and its step file."""
        groups: dict[tuple[str, ...], list[SqlDifference]] = {}
        for difference in self.sql:
            body = tuple(line for line in difference.unified[2:] if not line.startswith("@@"))
            groups.setdefault(body, []).append(difference)
        out = []
        for members in groups.values():
            by_what: dict[str, list[str]] = {}
            for member in members:
                by_what.setdefault(member.what, []).append(member.dialect)
            by_dialects: dict[tuple[str, ...], list[str]] = {}
            for what, names in by_what.items():
                by_dialects.setdefault(tuple(names), []).append(what)
            places = "; ".join(f"{', '.join(names)}: {', '.join(whats)}"
                               for names, whats in by_dialects.items())
            out.append({"places": places, "first": members[0], "count": len(members),
                        "dialects": sorted({member.dialect for member in members})})
        return out

    def summary(self) -> dict[str, int]:
        return {"added_revisions": len(self.added), "removed_revisions": len(self.removed),
                "edited_after_release": len(self.edited), "generator_changes": len(self.generator),
                "option_changes": len(self.options), "sql_differences": len(self.sql),
                "runbook_lines_changed": sum(1 for line in self.runbook if line[:1] in "+-"),
                "manifest_fields_changed": len(self.manifest)}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DIFF_FORMAT,
            "format_version": DIFF_VERSION,
            "old": {"label": self.old.label, "release": self.old.manifest.get("release"),
                    "range": self.old.manifest.get("range")},
            "new": {"label": self.new.label, "release": self.new.manifest.get("release"),
                    "range": self.new.manifest.get("range")},
            "ignore_formatting": self.ignore_formatting,
            "differs": self.differs,
            "summary": self.summary(),
            "edited_after_release": self.edited,
            "added_revisions": self.added,
            "removed_revisions": self.removed,
            "generator": self.generator,
            "options": self.options,
            "sql": [d.to_json() for d in self.sql],
            "sql_changes": [{"places": c["places"], "occurrences": c["count"], "diff": c["first"].unified}
                            for c in self.changes()],
            "runbook": self.runbook,
            "manifest_fields": self.manifest,
            "schema_summaries": self.schema,
        }


def _body(data: bytes | None) -> str:
    """A SQL file without its header comment (release name, range and generator versions differ
    between any two releases; they are compared through the manifest instead)."""
    if data is None:
        return ""
    text = data.decode("utf-8", errors="replace")
    head, sep, rest = text.partition("\n\n")
    return rest if sep and all(line.startswith(("--", "#")) for line in head.splitlines()) else text


def _same(old: str, new: str, dialect_name: str, ignore_formatting: bool) -> bool:
    if old == new:
        return True
    if not ignore_formatting:
        return False
    dialect = dialects.get(dialect_name) if dialect_name in dialects.available() else dialects.get("sqlite")
    fold = dialect.format.keyword_case == "upper"
    return significant_tokens(tokenize(old, dialect.lexer), fold) == significant_tokens(
        tokenize(new, dialect.lexer), fold)


def _step_brief(step: dict[str, Any]) -> dict[str, Any]:
    return {k: step.get(k) for k in ("revision", "message", "script", "script_sha256", "parents")}


def compare(old: Side, new: Side, *, ignore_formatting: bool = False) -> DiffReport:
    """What differs between two bundles: revisions, scripts edited after release, generator
    versions, options, and the SQL of each step and whole file."""
    report = DiffReport(old, new, ignore_formatting)
    old_steps, new_steps = old.steps, new.steps
    report.added = [_step_brief(s) for r, s in new_steps.items() if r not in old_steps]
    report.removed = [_step_brief(s) for r, s in old_steps.items() if r not in new_steps]
    for revision, step in new_steps.items():
        before = old_steps.get(revision)
        if before and before.get("script_sha256") != step.get("script_sha256"):
            report.edited.append({"revision": revision, "message": step.get("message"),
                                  "script": step.get("script"), "old_sha256": before.get("script_sha256"),
                                  "new_sha256": step.get("script_sha256"),
                                  "source_diff": _source_diff(old, before, new, step)})
    for key, title in (("generator", "generator"), ("options", "options")):
        a, b = old.manifest.get(key, {}), new.manifest.get(key, {})
        for name in sorted(set(a) | set(b)):
            if key == "options" and name == "format" and ignore_formatting:
                continue  # a layout choice: what --ignore-formatting is for
            if a.get(name) != b.get(name):
                getattr(report, title).append({"key": name, "old": a.get(name), "new": b.get(name)})
    _compare_sql(report, old, new)
    if old.manifest.get("range", {}).get("to") == new.manifest.get("range", {}).get("from") != \
            old.manifest.get("range", {}).get("from"):  # consecutive releases: what each does
        for side in (old, new):
            report.schema[str(side.manifest.get("release"))] = release_summaries(
                side.manifest, side.files, ("alembic_version", side.manifest.get("options", {}).get(
                    "record_table", "distill_applied")))
    report.runbook = [line for line in difflib.unified_diff(_runbook(old), _runbook(new), lineterm="", n=1)
                      if not line.startswith(("---", "+++"))]
    report.manifest = manifest_changes(old.manifest, new.manifest)
    return report


def _source_diff(old: Side, before: dict[str, Any], new: Side, after: dict[str, Any]) -> list[str]:
    """The unified diff of a revision script as shipped in ``old`` and in ``new`` (``sources/``);
    empty when a bundle does not carry it (built before bundles shipped their sources)."""
    shipped, now = old.files.get(before.get("source", "")), new.files.get(after.get("source", ""))
    if shipped is None or now is None:
        return []
    script = str(after.get("script") or before.get("script") or "script")
    return list(difflib.unified_diff(shipped.decode("utf-8", "replace").splitlines(),
                                     now.decode("utf-8", "replace").splitlines(),
                                     f"{old.label}: {script}", f"{new.label}: {script}", lineterm=""))


def _runbook(side: Side) -> list[str]:
    """The runbook from its first section on: its title and opening paragraph name the release,
    the generator versions and the formatting, which the report compares through the manifest."""
    lines = side.files.get("README.md", b"").decode("utf-8", "replace").splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("## ")), 0)
    return lines[first:]


def _files_by_step(side: Side, dialect: str) -> dict[tuple[str, str], str]:
    entry = side.manifest.get("dialects", {}).get(dialect, {})
    out = {}
    for step in entry.get("steps", []):
        for direction in ("up", "down"):
            if direction in step:
                out[(step["revision"], direction)] = step[direction]["file"]
    return out


def _nested(old: Side, new: Side) -> bool:
    """Whether one bundle's steps hold the other's (two builds of one range included)."""
    old_steps, new_steps = set(old.steps), set(new.steps)
    return old_steps <= new_steps or new_steps <= old_steps


def _compare_sql(report: DiffReport, old: Side, new: Side) -> None:
    old_dialects = set(old.manifest.get("dialects", {}))
    new_dialects = set(new.manifest.get("dialects", {}))
    same_range = old.manifest.get("range", {}).get("from") == new.manifest.get("range", {}).get("from") \
        and old.manifest.get("range", {}).get("to") == new.manifest.get("range", {}).get("to")
    order = [s["revision"] for s in new.manifest.get("steps", [])] + [
        s["revision"] for s in old.manifest.get("steps", []) if s["revision"] not in new.steps]
    nested = _nested(old, new)
    for dialect in sorted(old_dialects | new_dialects):
        pairs: list[tuple[str, str | None, str | None, str | None]] = []
        if same_range:
            pairs += [(name, None, f"{dialect}/{name}", f"{dialect}/{name}")
                      for name in ("upgrade.sql", "downgrade.sql")]
        old_files, new_files = _files_by_step(old, dialect), _files_by_step(new, dialect)
        # one range holds the other (a release grown by revisions): their SQL is new SQL, shown;
        # ranges that only overlap (1.1 and 2.0): what they share (the rest is listed as "only in")
        shared = order if nested else [r for r in order if r in old.steps and r in new.steps]
        for revision in shared:
            for direction in ("up", "down"):
                key = (revision, direction)
                if key in old_files or key in new_files:
                    pairs.append((f"{revision} {direction}", revision,
                                  old_files.get(key), new_files.get(key)))
        for what, revision, old_path, new_path in pairs:
            a = _body(old.files.get(old_path)) if old_path and dialect in old_dialects else ""
            b = _body(new.files.get(new_path)) if new_path and dialect in new_dialects else ""
            if _same(a, b, dialect, report.ignore_formatting):
                continue
            unified = list(difflib.unified_diff(
                a.splitlines(), b.splitlines(), f"{old.label}/{old_path or '(none)'}",
                f"{new.label}/{new_path or '(none)'}", lineterm="", n=3))
            report.sql.append(SqlDifference(dialect, what, revision, old_path, new_path, a, b, unified))
