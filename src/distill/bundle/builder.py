"""Building a bundle: every file of a release, deterministic to the byte, streamed to disk.

Layout (paths relative to the bundle directory)::

    manifest.json          what is in the bundle (schemas/manifest-1.json)
    SHA256SUMS             sha256 of every other file, as `sha256sum -c` reads it
    README.md              the DBA's runbook (templates/runbook.md.mako)
    <dialect>/upgrade.sql  <dialect>/downgrade.sql
    <dialect>/steps/NNNN-<revision>-<slug>.up.sql / .down.sql

Data flows one way: plan -> render -> format -> files. Each dialect-and-direction job writes its
own files (in a worker); the manifest, runbook and checksums follow from what they report.
Putting the finished directory in place is ``publish``'s job.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import dialects, workers
from ..dialects import Dialect
from ..errors import RangeError
from ..history.plan import Plan, make_plan
from ..history.scripts import History, display_revisions
from ..names import check_file_part
from ..offline import reversibility
from ..offline.produce import produce
from ..offline.render import Rendering
from ..offline.reproducible import Job, Probe, StepTexts, step_texts
from ..resources import template
from ..statements.applied_record import RecordTarget, record_statements, refuse_a_history_table
from ..statements.findings import NOT_REPRODUCIBLE, findings_of, printed_of
from ..statements.guards import applier_lock, guard_statements, stop_statement
from ..statements.model import SQL, Statement
from ..statements.row_changes import StepChanges, changes, verdicts_by_revision
from ..statements.script_text import script_text
from .files import write_file
from .generator import generator_versions
from .index_files import write_index_files
from .manifest import bundle_identity, manifest_core
from .publish import read_tree
from .spec import BundleSpec

if TYPE_CHECKING:
    from ..cache import RenderCache

DIRECTIONS = ("upgrade", "downgrade")


@dataclass
class _Written:
    """What writing one dialect's files in one direction reports (small: it crosses processes)."""

    stats: dict[str, Any]
    point: dict[str, str] | None
    version_table: str = ""
    main: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    empty: set[str] = field(default_factory=set)  # steps that render only version bookkeeping
    texts: StepTexts | None = None  # each step as rendered, for the reproducibility probe
    shadow: dict[str, Any] | None = None  # the shadow database it was rendered against
    changes: dict[str, StepChanges] = field(default_factory=dict)  # revision -> its row/schema changes
    pending: dict[str, tuple[str, dict]] = field(default_factory=dict)  # plan key -> temporary entry, deps


def _slug(message: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", message.lower()).strip("-")
    return slug[:40].rstrip("-") or "revision"


@dataclass(frozen=True)
class _File:
    """One SQL file to write: where, what, and what its header says."""

    path: str
    statements: list[Statement]
    direction: str
    guard_for: tuple[str, ...]
    shown_range: Plan
    reaches: tuple[str, ...] = ()  # the revisions the database is at once the file has run
    step: str | None = None
    point: reversibility.Irreversible | None = None


class BundleBuilder:
    """Renders one bundle's files for a history."""

    def __init__(self, history: History, spec: BundleSpec, *, probe: bool = True,
                 cache: RenderCache | None = None) -> None:
        """``probe``: render a second time to find what is not reproducible (not for a rebuild,
        which compares its bytes with the bundle's own anyway). ``cache``: renderings found there
        are not rendered (nor probed); those rendered and found reproducible are kept there."""
        self.history = history
        self.spec = spec
        # against a shadow, a second rendering would not see the same shadow: no probe
        self.probe = probe and spec.shadow is None and spec.reproducibility_check
        self.cache = cache if spec.shadow is None else None
        if self.cache is not None:
            self.cache.write = self.cache.write and self.probe
        self.probed: dict[tuple[str, str], str] = {}  # (dialect, direction) -> key of the plan probed
        self.versions = generator_versions()
        self.up = make_plan(history, spec.from_spec, spec.to_spec)
        if len(self.up.start) > 1:
            raise RangeError(
                f"release {spec.release}: its range starts at several revisions "
                f"({display_revisions(self.up.start)}); a bundle's downgrade must end at one revision or base"
            )
        if not self.up.steps:
            raise RangeError(
                f"release {spec.release}: the range {spec.from_spec} -> {spec.to_spec} has no steps "
                f"({display_revisions(self.up.start)} is already at {display_revisions(self.up.target)})"
            )
        self.down = make_plan(history, ",".join(self.up.target), self.up.start[0] if self.up.start
                              else "base", down=True)
        self.numbers = {step.revision: n for n, step in enumerate(self.up.steps, 1)}
        self.core = manifest_core(history, spec, self.up)
        self.record = None if spec.record_table is None else RecordTarget(
            spec.record_table, history.settings.project, spec.release, bundle_identity(self.core))
        # a --shadow-url database is where the bundle starts, for both directions
        self.shadow = dataclasses.replace(spec.shadow, at=self.up.start) if spec.shadow else None
        # refused before anything is written: a revision id that is no plain file name part
        self.file_parts = {s.revision: check_file_part(s.revision, f"the revision id in {s.script_path}")
                           for s in self.up.steps}

    def files(self) -> dict[str, bytes]:
        """Every file of the bundle, in memory (for verify --rebuild and diff --rebuild)."""
        with tempfile.TemporaryDirectory(prefix="distill-build-") as tmp:
            self.write(Path(tmp))
            return read_tree(Path(tmp))

    def write(self, directory: Path) -> None:
        """Write every file of the bundle into the empty ``directory``, streaming: one rendering
        at a time per worker, only hashes and findings kept."""
        point = self._point_by_script()
        probe = self._probe(point)
        done = self._run_jobs(directory, point)
        again = False
        for name in self.spec.dialects:
            down = done[name, "downgrade"]
            done[name, "downgrade"] = self._down_to_point(name, directory, done)
            again = again or done[name, "downgrade"] is not down
        differences = self._note_not_reproducible(probe, done) if probe is not None else []
        if self.cache is not None:
            self._keep_reproducible(done, differences)
            # what the whole bundle is made of, if it is kept (cache.Result); not when a downgrade
            # was rendered again to its point of no return (never probed, never kept)
            self.cache.result_keys = None if again else [
                self.cache.key(plan, name, self.spec.standalone) for name in self.spec.dialects
                for plan in (self.up, self._down_plan(point))]
        hashes: dict[str, str] = {}
        entries = {}
        for name in self.spec.dialects:
            up, down = done[name, "upgrade"], done[name, "downgrade"]
            hashes.update(up.files | down.files)
            entries[name] = self._entry(dialects.get(name), up, down)
        version_table = done[self.spec.dialects[0], "upgrade"].version_table
        del done  # the entries hold what is still needed
        write_index_files(directory, self.history, self.core, entries, self.versions, version_table, hashes)

    def _point_by_script(self) -> reversibility.Irreversible | None:
        """The first step of the downgrade whose script says it cannot be reverted."""
        by_script = reversibility.by_script(self.history, self.down)
        return by_script[0] if by_script else None

    def _down_plan(self, point: reversibility.Irreversible | None) -> Plan:
        """The downgrade as far as it goes: to the point of no return, when there is one."""
        return (reversibility.plan_to_point_of_no_return(self.history, self.down, point.step) if point
                else self.down)

    def _probe(self, point: reversibility.Irreversible | None) -> Probe | None:
        """The second rendering of every dialect and direction the cache does not hold (None:
        it holds them all, or there is no probe); the cache is looked up in any case."""
        jobs = []
        for name in self.spec.dialects:
            for direction, plan in (("upgrade", self.up), ("downgrade", self._down_plan(point))):
                if self.cache is not None:
                    if self.cache.lookup(plan, name, self.spec.standalone):
                        continue
                    self.probed[name, direction] = self.cache.key(plan, name, self.spec.standalone)
                jobs.append(Job(name, direction, plan.start, plan.target))
        if not self.probe or not jobs:
            return None
        return Probe(self.history.settings, jobs, standalone=self.spec.standalone,
                     generation=self.history.generation)

    @staticmethod
    def _note_not_reproducible(probe: Probe, done: dict[tuple[str, str], _Written]) -> list:
        """Each step that the second rendering wrote differently gets a not_reproducible finding
        (returned too)."""
        reference = [written.texts for written in done.values() if written.texts is not None]
        differences = probe.differences(reference)
        for item in differences:
            info = done[item.dialect, item.direction].steps[item.revision]
            info.setdefault(NOT_REPRODUCIBLE, []).append(item.message)
        return differences

    def _keep_reproducible(self, done: dict[tuple[str, str], _Written], differences: list) -> None:
        """Keep each plan rendered here whose every step the second rendering wrote the same (as
        probed: not a downgrade rendered again to its point of no return); drop the others."""
        from ..offline import reproducible

        bad = {(item.dialect, item.direction) for item in differences}
        kept, dropped = {}, []
        for where, written in done.items():
            for key, entry in written.pending.items():
                if not reproducible.NOTES and where not in bad and self.probed.get(where) == key:
                    kept[key] = entry
                else:
                    dropped.append(entry[0])
                    self.cache.forget(key)  # found, yet rendered again (its entry had gone): not probed
        self.cache.keep(kept, dropped)

    def _run_jobs(self, directory: Path, point: reversibility.Irreversible | None
                  ) -> dict[tuple[str, str], _Written]:
        """Every dialect in both directions: every upgrade, then every downgrade in the reverse
        order of dialects. With two workers, each runs one direction (its dialects share
        formatted shapes), and they start in different dialects' steps/ folders (creating files
        in one folder takes the folder's lock)."""
        names = self.spec.dialects
        order = [(name, "upgrade") for name in names] + [(name, "downgrade") for name in reversed(names)]
        jobs = [functools.partial(self._direction, name, direction, directory,
                                  point if direction == "downgrade" else None) for name, direction in order]
        labels = [f"{name} {'up' if direction == 'upgrade' else 'down'}" for name, direction in order]
        results = workers.run_all(jobs, labels=labels, totals=[len(self.up.steps)] * len(jobs),
                                  stages=("rendering", "formatting", "writing"))
        return dict(zip(order, results, strict=True))

    def _down_to_point(self, name: str, directory: Path, done: dict[tuple[str, str], _Written]) -> _Written:
        """The downgrade, rendered again down to its point of no return where a downgrade that
        renders nothing for this dialect makes one."""
        up, down = done[name, "upgrade"], done[name, "downgrade"]
        while True:
            found = reversibility.among(self.down.steps, down.empty, up.empty, set(self.numbers),
                                        dialects.get(name))
            if not found:
                return down
            stale = set(down.files)
            down = self._direction(name, "downgrade", directory, found[0], None)
            for path in stale - set(down.files):
                (directory / path).unlink()

    def _entry(self, dialect: Dialect, up: _Written, down: _Written) -> dict[str, Any]:
        by_revision: dict[str, dict[str, Any]] = {}
        for written, suffix in ((up, "up"), (down, "down")):
            for revision, info in written.steps.items():
                by_revision.setdefault(revision, {"revision": revision,
                                                  "number": self.numbers[revision]})[suffix] = info
        for revision, verdicts in verdicts_by_revision(up.changes, down.changes).items():
            by_revision[revision].update(verdicts)
        return {
            "title": dialect.title,
            "client": dialect.client.apply,
            "formatting": {"upgrade": up.stats, "downgrade": down.stats},
            "point_of_no_return": down.point,
            "upgrade": up.main,
            "downgrade": down.main,
            "steps": sorted(by_revision.values(), key=lambda s: s["number"]),
            **({"shadow": up.shadow} if up.shadow is not None else {}),
        }

    def _direction(self, name: str, direction: str, directory: Path,
                   point: reversibility.Irreversible | None, tick: workers.Tick | None) -> _Written:
        """Render one dialect in one direction and write its files (runs in a worker)."""
        dialect = dialects.get(name)
        plan = self.up if direction == "upgrade" else self._down_plan(point)
        texts: dict[tuple[str, str, str], str] = {}  # each step before formatting, for the probe
        keep = (lambda raw: texts.update({(name, direction, revision): text
                                          for revision, text in step_texts(raw).items()})
                ) if self.probe else None
        rendering, stats = produce(self.history, plan, dialect, style=self.spec.style,
                                   standalone=self.spec.standalone, tick=tick, on_rendered=keep,
                                   shadow=self.shadow, cache=self.cache)
        if self.record is not None:
            refuse_a_history_table(self.record.table, plan.steps, rendering.step_statements)
        written = _Written(stats=stats.to_json(), version_table=rendering.version_table.display,
                           shadow=rendering.shadow,
                           point=None if point is None else {"revision": point.step.revision,
                                                             "reason": point.reason},
                           texts=StepTexts(texts) if self.probe else None,
                           pending=self.cache.take_pending() if self.cache is not None else {})
        statements = rendering.statements()
        if point is not None:
            statements.append(stop_statement(
                dialect, f"distill: cannot revert {point.step.revision}: restore from a backup"))
        whole_range = self.up if direction == "upgrade" else self.down
        if tick is not None:
            tick.stage("writing")
        written.main = self._add(written, directory, dialect, rendering, _File(
            f"{dialect.name}/{direction}.sql", statements, direction, whole_range.start, whole_range,
            reaches=tuple(plan.target), point=point))
        suffix = "up" if direction == "upgrade" else "down"
        for index, step in enumerate(plan.steps):
            number = self.numbers[step.revision]
            label = f"{number:04d} of {len(self.up.steps)}: {direction} {step.label}"
            info = self._add(written, directory, dialect, rendering, _File(
                f"{dialect.name}/steps/{number:04d}-{self.file_parts[step.revision]}-{_slug(step.message)}"
                f".{suffix}.sql",
                rendering.step_file_statements(index), direction, rendering.heads_before(index),
                rendering.plan, reaches=rendering.heads_after[index], step=label))
            info.update(findings_of(rendering.step_statements(index)))
            info.update(printed_of(rendering.step_statements(index), dialect.comment))
            written.steps[step.revision] = info
            written.changes[step.revision] = changes(rendering.step_statements(index), dialect,
                                                     rendering.version_table.name)
            if tick is not None:
                tick()
        written.empty = reversibility.empty_steps(rendering)
        return written

    def _header(self, dialect: Dialect, file: _File) -> str:
        warnings = []
        if file.direction == "downgrade" and not self.up.start and not file.step:
            warnings.append("WARNING: this downgrade goes back to base: it drops everything the "
                            "history created, data included")
        if file.point is not None:
            warnings.append(f"POINT OF NO RETURN: {file.point.describe()}. This file reverts the steps "
                            "above it, then stops with an error.")
        return template("sql_header.mako", one_line=True).render(
            c=dialect.comment, project=self.history.settings.project, release=self.spec.release,
            title=f"{file.direction}{' step' if file.step else ''}", dialect_title=dialect.title,
            range_from=display_revisions(file.shown_range.start),
            range_to=display_revisions(file.shown_range.target), step=file.step,
            versions=self.versions, apply=dialect.client.apply.format(file=file.path), warnings=warnings,
        )

    def _add(self, written: _Written, directory: Path, dialect: Dialect, rendering: Rendering,
             file: _File) -> dict[str, Any]:
        guard = guard_statements(dialect, rendering.version_table, file.guard_for)
        lock = applier_lock(dialect, rendering.version_table, self.spec.timeouts.lock_ms)
        record = () if self.record is None else record_statements(
            dialect, self.record, file.path, file.direction, file.guard_for, file.reaches)
        data = (self._header(dialect, file) + "\n" + script_text(
            file.statements, dialect, guard=guard, timeouts=self.spec.timeouts, lock=lock, record=record))
        digest = written.files[file.path] = write_file(directory, file.path, data.encode("utf-8"))
        return {"file": file.path, "sha256": digest,
                "statements": sum(1 for s in file.statements if s.kind == SQL)}


def build_files(history: History, spec: BundleSpec) -> dict[str, bytes]:
    """Every file of the bundle ``spec`` describes, by relative path."""
    return BundleBuilder(history, spec, probe=False).files()


def build_into(history: History, spec: BundleSpec, directory: Path,
               cache: RenderCache | None = None) -> None:
    """Write the bundle ``spec`` describes into the empty ``directory`` (renderings taken from and
    kept in ``cache`` when given)."""
    BundleBuilder(history, spec, cache=cache).write(directory)
