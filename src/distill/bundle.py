"""Building a bundle: every file of a release, in memory, deterministic to the byte.

Layout (paths relative to the bundle directory)::

    manifest.json          what is in the bundle (schemas/manifest-1.json)
    SHA256SUMS             sha256 of every other file, as `sha256sum -c` reads it
    README.md              the DBA's runbook (templates/runbook.md.mako)
    <dialect>/upgrade.sql  <dialect>/downgrade.sql
    <dialect>/steps/NNNN-<revision>-<slug>.up.sql / .down.sql

Data flows one way: plan -> render -> format -> files. Writing to disk is ``publish.py``'s job.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mako.template import Template

from . import dialects, parallel, reversibility
from .analysis import findings_of
from .capture import SQL, Statement
from .dialects import Dialect
from .emit import script_text
from .errors import RangeError
from .guards import guard_statements, stop_statement
from .history import History
from .jsonout import write_json
from .pipeline import produce
from .plan import Plan, make_plan
from .publish import read_tree
from .render import Rendering
from .resources import data_dir
from .versions import generator_versions

MANIFEST_FORMAT = "distill-bundle"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class BundleSpec:
    """What to build: a named range, for some dialects, formatted or not."""

    release: str
    from_spec: str
    to_spec: str
    dialects: tuple[str, ...]
    style: str = "sqlparse"
    standalone: bool = False


@dataclass
class _Written:
    """What writing one dialect's files in one direction reports (small: it crosses processes)."""

    stats: dict[str, Any]
    point: dict[str, str] | None
    main: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    empty: set[str] = field(default_factory=set)  # steps that render only version bookkeeping


class _HashingFile:
    """A text file written in pieces, with the sha256 of its UTF-8 bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._hash = hashlib.sha256()
        self.digest = ""

    def __enter__(self) -> _HashingFile:
        self._file = self.path.open("wb")
        return self

    def write(self, text: str) -> None:  # write_json hands over large pieces
        data = text.encode("utf-8")
        self._hash.update(data)
        self._file.write(data)

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        os.chmod(self.path, 0o644)
        self.digest = self._hash.hexdigest()


_MADE_DIRS: set[str] = set()


@cache
def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(directory: Path, path: str, data: bytes) -> str:
    """Write one bundle file (mode 0644 whatever the umask) and return its sha256.

    Thousands of small files: plain system calls, each directory made once."""
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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _slug(message: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", message.lower()).strip("-")
    return slug[:40].rstrip("-") or "revision"


def _names(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "base"


@cache
def _template(name: str) -> Template:
    path = data_dir("templates") / name
    return Template(path.read_text(encoding="utf-8"), strict_undefined=True)


def _markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


class BundleBuilder:
    """Renders one bundle's files for a history. Call :meth:`files` once."""

    def __init__(self, history: History, spec: BundleSpec) -> None:
        self.history = history
        self.spec = spec
        self.versions = generator_versions()
        self.up = make_plan(history, spec.from_spec, spec.to_spec)
        if len(self.up.start) > 1:
            raise RangeError(
                f"release {spec.release}: its range starts at several revisions "
                f"({_names(self.up.start)}); a bundle's downgrade must end at one revision or base"
            )
        if not self.up.steps:
            raise RangeError(
                f"release {spec.release}: the range {spec.from_spec} -> {spec.to_spec} has no steps "
                f"({_names(self.up.start)} is already at {_names(self.up.target)})"
            )
        self.down = make_plan(history, ",".join(self.up.target), self.up.start[0] if self.up.start
                              else "base", down=True)
        self.numbers = {step.revision: n for n, step in enumerate(self.up.steps, 1)}

    # ---- files ---------------------------------------------------------------------------
    def files(self) -> dict[str, bytes]:
        """Every file of the bundle, in memory (for verify --rebuild and diff --rebuild)."""
        with tempfile.TemporaryDirectory(prefix="distill-build-") as tmp:
            self.write(Path(tmp))
            return read_tree(Path(tmp))

    def write(self, directory: Path) -> None:
        """Write every file of the bundle into the empty ``directory``, streaming: one rendering
        at a time per worker, only hashes and findings kept."""
        by_script = reversibility.by_script(self.history, self.down)
        point = by_script[0] if by_script else None
        # Every upgrade, then every downgrade: jobs that run side by side then write to different
        # dialects' steps/ folders (creating files in one folder takes the folder's lock).
        order = [(name, direction) for direction in ("upgrade", "downgrade") for name in self.spec.dialects]
        jobs = [functools.partial(self._direction, name, direction, directory,
                                  point if direction == "downgrade" else None) for name, direction in order]
        labels = [f"{name} {'up' if direction == 'upgrade' else 'down'}" for name, direction in order]
        done = dict(zip(order, parallel.run_all(jobs, labels=labels, totals=[len(self.up.steps)] * len(jobs)),
                        strict=True))
        hashes: dict[str, str] = {}
        entries = {}
        for name in self.spec.dialects:
            up, down = done[name, "upgrade"], done[name, "downgrade"]
            while True:  # a downgrade that renders nothing for this dialect is a point of no return
                found = reversibility.among(self.down.steps, down.empty, up.empty,
                                            set(self.numbers), dialects.get(name))
                if not found:
                    break
                stale = set(down.files)
                down = self._direction(name, "downgrade", directory, found[0], lambda: None)
                for path in stale - set(down.files):
                    (directory / path).unlink()
            hashes.update(up.files)
            hashes.update(down.files)
            entries[name] = self._entry(dialects.get(name), up, down)
        manifest = self._manifest(entries)
        del entries, done  # the manifest holds what is still needed
        with _HashingFile(directory / "manifest.json") as out:  # streamed: it can be large
            write_json(manifest, out.write)
            out.write("\n")
        hashes["manifest.json"] = out.digest
        hashes["README.md"] = _write(directory, "README.md", self._runbook(manifest).encode("utf-8"))
        sums = "".join(f"{hashes[path]}  {path}\n" for path in sorted(hashes)).encode("utf-8")
        _write(directory, "SHA256SUMS", sums)

    def _entry(self, dialect: Dialect, up: _Written, down: _Written) -> dict[str, Any]:
        by_revision: dict[str, dict[str, Any]] = {}
        for written, suffix in ((up, "up"), (down, "down")):
            for revision, info in written.steps.items():
                by_revision.setdefault(revision, {"revision": revision,
                                                  "number": self.numbers[revision]})[suffix] = info
        return {
            "title": dialect.title,
            "client": dialect.client_apply,
            "formatting": {"upgrade": up.stats, "downgrade": down.stats},
            "point_of_no_return": down.point,
            "upgrade": up.main,
            "downgrade": down.main,
            "steps": sorted(by_revision.values(), key=lambda s: s["number"]),
        }

    def _direction(self, name: str, direction: str, directory: Path,
                   point: reversibility.Irreversible | None, tick: Callable[[], None]) -> _Written:
        """Render one dialect in one direction and write its files (runs in a worker)."""
        dialect = dialects.get(name)
        if direction == "upgrade":
            plan = self.up
        else:
            plan = (reversibility.plan_to_point_of_no_return(self.history, self.down, point.step)
                    if point else self.down)
        rendering, stats = produce(self.history, plan, dialect, style=self.spec.style,
                                   standalone=self.spec.standalone, on_step=tick)
        written = _Written(stats=stats.to_json(),
                           point=None if point is None else {"revision": point.step.revision,
                                                             "reason": point.reason})
        statements = rendering.statements()
        if point is not None:
            statements.append(stop_statement(
                dialect, f"distill: cannot revert {point.step.revision}: restore from a backup"))
        guard_for = self.up.start if direction == "upgrade" else self.down.start
        written.main = self._add(written, directory, f"{dialect.name}/{direction}.sql", statements,
                                 dialect, rendering, direction, guard_for=guard_for, point=point,
                                 shown_range=self.up if direction == "upgrade" else self.down)
        suffix = "up" if direction == "upgrade" else "down"
        for index, step in enumerate(plan.steps):
            number = self.numbers[step.revision]
            path = f"{dialect.name}/steps/{number:04d}-{step.revision}-{_slug(step.message)}.{suffix}.sql"
            label = (f"{number:04d} of {len(self.up.steps)}: {direction} "
                     f"{step.revision} ({step.message})")
            info = self._add(written, directory, path, rendering.step_file_statements(index), dialect,
                             rendering, direction, guard_for=rendering.heads_before(index), step=label)
            info.update(findings_of(rendering.step_statements(index)))
            written.steps[step.revision] = info
        written.empty = reversibility.empty_steps(rendering)
        return written

    def _add(self, written: _Written, directory: Path, path: str, statements: list[Statement],
             dialect: Dialect, rendering: Rendering, direction: str, *, guard_for: tuple[str, ...],
             step: str | None = None, point: reversibility.Irreversible | None = None,
             shown_range: Plan | None = None) -> dict[str, Any]:
        warnings = []
        if direction == "downgrade" and not self.up.start and not step:
            warnings.append("WARNING: this downgrade goes back to base: it drops everything the "
                            "history created, data included")
        if point is not None:
            warnings.append(f"POINT OF NO RETURN: {point.describe()}. This file reverts the steps "
                            "above it, then stops with an error.")
        header = _template("sql_header.mako").render(
            c=dialect.comment, project=self.history.settings.project, release=self.spec.release,
            title=f"{direction}{' step' if step else ''}", dialect_title=dialect.title,
            range_from=_names((shown_range or rendering.plan).start),
            range_to=_names((shown_range or rendering.plan).target), step=step,
            versions=self.versions, apply=dialect.client_apply.format(file=path), warnings=warnings,
        )
        guard = guard_statements(dialect, rendering.version_table, guard_for)
        data = (header + "\n" + script_text(statements, dialect, guard=guard)).encode("utf-8")
        digest = written.files[path] = _write(directory, path, data)
        return {"file": path, "sha256": digest,
                "statements": sum(1 for s in statements if s.kind == SQL)}

    # ---- manifest and runbook ------------------------------------------------------------
    def _manifest(self, dialect_entries: dict[str, Any]) -> dict[str, Any]:
        settings = self.history.settings
        steps = []
        for step in self.up.steps:
            script = Path(self.history.get(step.revision).path)
            verdict = reversibility.verdict(self.history, step.revision)
            steps.append({
                "number": self.numbers[step.revision],
                "revision": step.revision,
                "parents": list(step.down_revisions),
                "depends_on": list(step.dependencies),
                "message": step.message,
                "script": step.script_path,
                "script_sha256": sha256(script.read_bytes()),
                "branch_labels": list(step.branch_labels),
                "merge_point": step.is_merge,
                "branch_point": step.is_branch_point,
                "reversible": verdict.reversible,
                "irreversible_reason": verdict.reason or None,
            })
        return {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_VERSION,
            "project": settings.project,
            "release": self.spec.release,
            "range": {
                "from": list(self.up.start),
                "to": list(self.up.target),
                "from_spec": self.spec.from_spec,
                "to_spec": self.spec.to_spec,
            },
            "options": {
                "format": self.spec.style,
                "mode": "standalone" if self.spec.standalone else "project",
                "dialects": list(self.spec.dialects),
            },
            "steps": steps,
            "dialects": dialect_entries,
            "generator": self.versions,
        }

    def _runbook(self, manifest: dict[str, Any]) -> str:
        starts_at_base = not self.up.start
        rows = []
        for name, entry in manifest["dialects"].items():
            rows.append({
                "title": entry["title"],
                "upgrade_command": entry["client"].format(file=f"{name}/upgrade.sql"),
                "downgrade_command": entry["client"].format(file=f"{name}/downgrade.sql"),
            })
        by_message = _findings_by_step(manifest)
        steps = []
        for s in manifest["steps"]:
            notes = []
            if s["merge_point"]:
                notes.append("merge")
            if s["branch_point"]:
                notes.append("branch point")
            if s["depends_on"]:
                notes.append("depends on " + ", ".join(s["depends_on"]))
            if not s["reversible"]:
                notes.append("IRREVERSIBLE: " + s["irreversible_reason"])
            findings = {kind: by_message.get((s["revision"], kind), [])
                        for kind in ("destructive", "lock_risk")}
            if findings["destructive"]:
                notes.append("DESTRUCTIVE")
            steps.append({**s, "notes": "; ".join(notes), **findings})
        grouped: dict[tuple[str, str], list[str]] = {}
        for name, e in manifest["dialects"].items():
            if e["point_of_no_return"]:
                key = (e["point_of_no_return"]["revision"], e["point_of_no_return"]["reason"])
                grouped.setdefault(key, []).append(name)
        points = [(rev, why, "all" if len(names) == len(manifest["dialects"]) else ", ".join(names))
                  for (rev, why), names in sorted(grouped.items())]
        return _template("runbook.md.mako").render(
            project=manifest["project"], release=manifest["release"], versions=self.versions,
            style=self.spec.style, range_from=_names(self.up.start), range_to=_names(self.up.target),
            steps=steps, dialects=rows, version_table=self._version_table(),
            starts_at_base=starts_at_base, md=_markdown_cell, points=points,
            all_dialects=len(manifest["dialects"]),
        )

    def _version_table(self) -> str:
        options = self.history.settings.standalone
        table = options.version_table if self.spec.standalone else "alembic_version"
        schema = options.version_table_schema if self.spec.standalone else None
        return f"{schema}.{table}" if schema else table


def _findings_by_step(manifest: dict[str, Any]) -> dict[tuple[str, str], list[tuple[str, list[str]]]]:
    """(revision, kind) -> [(message, dialects)] of the upgrade findings, across dialects."""
    seen: dict[tuple[str, str], dict[str, list[str]]] = {}
    for name, entry in manifest["dialects"].items():
        for step in entry["steps"]:
            for kind in ("destructive", "lock_risk"):
                for message in step.get("up", {}).get(kind, []):
                    seen.setdefault((step["revision"], kind), {}).setdefault(message, []).append(name)
    return {key: list(messages.items()) for key, messages in seen.items()}


def spec_from_manifest(manifest: dict[str, Any]) -> BundleSpec:
    """The BundleSpec that rebuilds a shipped bundle from the current sources."""
    rng, options = manifest.get("range", {}), manifest.get("options", {})
    return BundleSpec(
        release=manifest.get("release", "?"),
        from_spec=",".join(rng.get("from", [])) or "base",
        to_spec=",".join(rng.get("to", [])) or "base",
        dialects=tuple(options.get("dialects", manifest.get("dialects", {}).keys())),
        style=options.get("format", "sqlparse"),
        standalone=options.get("mode") == "standalone",
    )


def build_files(history: History, spec: BundleSpec) -> dict[str, bytes]:
    """Every file of the bundle ``spec`` describes, by relative path."""
    return BundleBuilder(history, spec).files()


def build_into(history: History, spec: BundleSpec, directory: Path) -> None:
    """Write the bundle ``spec`` describes into the empty ``directory``."""
    BundleBuilder(history, spec).write(directory)
