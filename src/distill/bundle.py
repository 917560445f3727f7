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

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mako.template import Template

from . import dialects
from .capture import SQL, Statement
from .dialects import Dialect
from .emit import script_text
from .errors import RangeError
from .formatting import format_rendering
from .history import History
from .plan import Plan, make_plan
from .render import Rendering, render
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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _slug(message: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", message.lower()).strip("-")
    return slug[:40].rstrip("-") or "revision"


def _names(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "base"


def _template(name: str) -> Template:
    path = data_dir("templates") / name
    return Template(path.read_text(encoding="utf-8"), strict_undefined=True)


def _markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def step_file_statements(rendering: Rendering, index: int) -> list[Statement]:
    """Statements of one step as a file of its own, with the run's transaction around it.

    In a run with one transaction (BEGIN before the first step, COMMIT after the last), the step
    gets that BEGIN and COMMIT; with transaction_per_migration, Alembic already wrote them around
    each step (BEGIN inside the step, COMMIT right after it).
    """
    segments = rendering.segments
    positions = [i for i, seg in enumerate(segments) if seg.step is not None]
    first, last = positions[0], positions[-1]
    prologue = [s for seg in segments[:first] for s in seg.statements]
    epilogue = [s for seg in segments[last + 1:] for s in seg.statements]
    between = [s for seg in segments[first:last + 1] if seg.step is None for s in seg.statements]
    position = next(i for i, seg in enumerate(segments) if seg.step == index)
    own = list(segments[position].statements)
    if not between:
        return prologue + own + epilogue
    following = segments[position + 1].statements if position + 1 < len(segments) else []
    return own + [s for s in following if s.kind == SQL]


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
        files: dict[str, bytes] = {}
        dialect_entries = {}
        for name in self.spec.dialects:
            dialect = dialects.get(name)
            dialect_entries[name] = self._dialect_files(dialect, files)
        manifest = self._manifest(dialect_entries)
        files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
                                  + "\n").encode("utf-8")
        files["README.md"] = self._runbook(manifest).encode("utf-8")
        files["SHA256SUMS"] = "".join(
            f"{sha256(files[path])}  {path}\n" for path in sorted(files)
        ).encode("utf-8")
        return dict(sorted(files.items()))

    def _dialect_files(self, dialect: Dialect, files: dict[str, bytes]) -> dict[str, Any]:
        entry: dict[str, Any] = {"title": dialect.title, "client": dialect.client_apply,
                                 "formatting": {}, "steps": []}
        by_revision: dict[str, dict[str, Any]] = {}
        for direction, plan in (("upgrade", self.up), ("downgrade", self.down)):
            rendering, stats = format_rendering(
                render(self.history, plan, dialect, standalone=self.spec.standalone), self.spec.style
            )
            entry["formatting"][direction] = stats.to_json()
            path = f"{dialect.name}/{direction}.sql"
            entry[direction] = self._add(files, path, rendering.statements(), dialect, plan, direction)
            suffix = "up" if direction == "upgrade" else "down"
            for index, step in enumerate(plan.steps):
                number = self.numbers[step.revision]
                step_path = (f"{dialect.name}/steps/{number:04d}-{step.revision}-"
                             f"{_slug(step.message)}.{suffix}.sql")
                label = f"{number:04d} of {len(self.up.steps)}: {direction} {step.revision} ({step.message})"
                info = self._add(files, step_path, step_file_statements(rendering, index), dialect,
                                 plan, direction, step=label)
                by_revision.setdefault(step.revision, {"revision": step.revision, "number": number})[
                    suffix] = info
        entry["steps"] = sorted(by_revision.values(), key=lambda s: s["number"])
        return entry

    def _add(self, files: dict[str, bytes], path: str, statements: list[Statement], dialect: Dialect,
             plan: Plan, direction: str, step: str | None = None) -> dict[str, Any]:
        header = _template("sql_header.mako").render(
            c=dialect.comment, project=self.history.settings.project, release=self.spec.release,
            title=f"{direction}{' step' if step else ''}", dialect_title=dialect.title,
            range_from=_names(plan.start), range_to=_names(plan.target), step=step,
            versions=self.versions, apply=dialect.client_apply.format(file=path),
        )
        data = (header + "\n" + script_text(statements, dialect)).encode("utf-8")
        files[path] = data
        return {"file": path, "sha256": sha256(data),
                "statements": sum(1 for s in statements if s.kind == SQL)}

    # ---- manifest and runbook ------------------------------------------------------------
    def _manifest(self, dialect_entries: dict[str, Any]) -> dict[str, Any]:
        settings = self.history.settings
        steps = []
        for step in self.up.steps:
            script = Path(self.history.get(step.revision).path)
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
        steps = []
        for s in manifest["steps"]:
            notes = []
            if s["merge_point"]:
                notes.append("merge")
            if s["branch_point"]:
                notes.append("branch point")
            if s["depends_on"]:
                notes.append("depends on " + ", ".join(s["depends_on"]))
            steps.append({**s, "notes": "; ".join(notes)})
        return _template("runbook.md.mako").render(
            project=manifest["project"], release=manifest["release"], versions=self.versions,
            style=self.spec.style, range_from=_names(self.up.start), range_to=_names(self.up.target),
            steps=steps, dialects=rows, version_table=self._version_table(),
            starts_at_base=starts_at_base, md=_markdown_cell,
        )

    def _version_table(self) -> str:
        options = self.history.settings.standalone
        table = options.version_table if self.spec.standalone else "alembic_version"
        schema = options.version_table_schema if self.spec.standalone else None
        return f"{schema}.{table}" if schema else table


def build_files(history: History, spec: BundleSpec) -> dict[str, bytes]:
    """Every file of the bundle ``spec`` describes, by relative path."""
    return BundleBuilder(history, spec).files()
