"""distill rehearse: prove a bundle on scratch databases before it ships.

The exact shipped files are applied with the dialect's real client, up, down and up again, then
once more to see the guard refuse; the same with the per-step files one by one. After each phase
the schema and rows are compared with databases that online Alembic brought to the same revision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .. import dialects
from ..audit.verify import verify
from ..bundle.archive import bundle_directory
from ..errors import DistillError
from ..history.scripts import History, display_revisions
from .clients import driver_url, run_script
from .online import migrate
from .schema_diff import differences, readable, without_empty_table
from .scratch import Scratch
from .snapshot import snapshot


@dataclass
class Phase:
    name: str
    passed: bool
    detail: str = ""
    differences: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.name, "passed": self.passed, "detail": self.detail,
                "differences": self.differences}


@dataclass
class Rehearsal:
    bundle: str
    dialect: str
    target: str  # "temporary SQLite file" or the server URL without password
    phases: list[Phase] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.phases) and all(p.passed for p in self.phases)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "dialect": self.dialect, "database": self.target,
                "passed": self.passed, "phases": [p.to_json() for p in self.phases]}

    def text(self) -> str:
        width = max(len(p.name) for p in self.phases) if self.phases else 10
        lines = [f"distill rehearse {self.bundle} ({self.dialect}, {self.target})"]
        for p in self.phases:
            lines.append(f"  {'PASS' if p.passed else 'FAIL'}  {p.name:<{width}}  {p.detail}".rstrip())
            lines += [f"        {d}" for d in p.differences[:40]]
            if len(p.differences) > 40:
                lines.append(f"        ... and {len(p.differences) - 40} more")
        lines.append("REHEARSAL PASSED" if self.passed else "REHEARSAL FAILED")
        return "\n".join(lines)


def record_path(bundle: Path) -> Path:
    """Where --record writes: next to the bundle, never inside it."""
    name = bundle.name[:-len(".tar.gz")] if bundle.name.endswith(".tar.gz") else bundle.name
    return bundle.parent / f"{name}.rehearsal.json"


class _Run:
    def __init__(self, history: History, bundle: Path, manifest: dict, dialect, scratch: Scratch,
                 report: Rehearsal, standalone: bool) -> None:
        self.history, self.bundle, self.manifest = history, bundle, manifest
        self.dialect, self.scratch, self.report = dialect, scratch, report
        self.standalone = standalone
        self.references: dict[str, dict] = {}
        entry = manifest["dialects"][dialect.name]
        self.start = manifest["range"]["from"]
        self.target = manifest["range"]["to"]
        self.point = entry["point_of_no_return"]
        self.steps = entry["steps"]
        # The version table as online Alembic used it (env.py may rename it), learnt from the
        # first migration: every phase migrates a reference before it compares at base.
        self.version_table: str | None = None

    # ---- databases ---------------------------------------------------------------------------
    def at(self, revisions: list[str]) -> sa.URL:
        url = self.scratch.create()
        for revision in revisions:
            self.version_table, _ = migrate(self.history, url, "upgrade", revision,
                                            standalone=self.standalone)
        return url

    def reference(self, revisions: list[str]) -> dict:
        key = ",".join(revisions)
        if key not in self.references:
            self.references[key] = snapshot(self.at(revisions))
        return self.references[key]

    # ---- phases ------------------------------------------------------------------------------
    def apply(self, url: sa.URL, file: str):
        return run_script(self.dialect, url, self.bundle / file)

    def compare(self, name: str, url: sa.URL, revisions: list[str], detail: str) -> bool:
        found = snapshot(url)
        if not revisions and self.version_table:  # at base: the empty version table a downgrade
            found = without_empty_table(found, self.version_table)  # leaves is no difference
        diffs = [readable(d) for d in differences(self.reference(revisions), found)]
        at = display_revisions(revisions)
        self.report.phases.append(Phase(name, not diffs, f"{detail}; compared with online Alembic at {at}"
                                        if not diffs else f"{detail}; differs from online Alembic at {at}",
                                        diffs))
        return not diffs

    def failed(self, name: str, result, expected: str) -> None:
        output = (result.stderr + result.stdout).decode("utf-8", errors="replace").strip()
        self.report.phases.append(Phase(name, False, f"{expected}; the client said: {output[-600:]}"))

    def refuses_again(self, name: str, url: sa.URL, file: str) -> None:
        before = snapshot(url)
        result = self.apply(url, file)
        output = (result.stderr + result.stdout).decode("utf-8", errors="replace")
        diffs = [readable(d) for d in differences(before, snapshot(url))]
        ok = result.returncode != 0 and "distill guard" in output and not diffs
        detail = ("the guard refused it and nothing changed" if ok else
                  f"expected the guard to refuse it (exit {result.returncode}): {output.strip()[-300:]}")
        self.report.phases.append(Phase(name, ok, detail, diffs))

    def downgrade_expectation(self) -> tuple[list[str], str | None]:
        """Where a downgrade ends, and the error it must stop with (at a point of no return)."""
        if self.point is None:
            return self.start, None
        return [self.point["revision"]], f"cannot revert {self.point['revision']}"

    def whole_files(self) -> None:
        d = self.dialect.name
        db = self.at(self.start)
        result = self.apply(db, f"{d}/upgrade.sql")
        if result.returncode != 0:
            return self.failed("upgrade.sql", result, "the upgrade failed")
        if not self.compare("upgrade.sql", db, self.target, "applied"):
            return
        end, stop = self.downgrade_expectation()
        result = self.apply(db, f"{d}/downgrade.sql")
        output = (result.stderr + result.stdout).decode("utf-8", errors="replace")
        if stop is None and result.returncode != 0:
            return self.failed("downgrade.sql", result, "the downgrade failed")
        if stop is not None and (result.returncode == 0 or stop not in output):
            return self.failed("downgrade.sql", result, f"expected it to stop with '{stop}'")
        how = "applied" if stop is None else f"reverted down to the point of no return and stopped: {stop}"
        if not self.compare("downgrade.sql", db, end, how):
            return
        if stop is None:
            result = self.apply(db, f"{d}/upgrade.sql")
            if result.returncode != 0:
                return self.failed("upgrade.sql again", result, "the second upgrade failed")
            if not self.compare("upgrade.sql again", db, self.target, "applied after the downgrade"):
                return
        else:
            self.report.phases.append(Phase("upgrade.sql again", True, "not applicable: the database "
                                            "stopped at the point of no return, below the upgrade's start"))
        self.refuses_again("upgrade.sql once more", db, f"{d}/upgrade.sql")

    def step_files(self) -> None:
        db = self.at(self.start)
        ups = [s["up"]["file"] for s in self.steps if "up" in s]
        downs = [s["down"]["file"] for s in reversed(self.steps) if "down" in s]
        reverted = {s["number"] for s in self.steps if "down" in s}
        for file in ups:
            result = self.apply(db, file)
            if result.returncode != 0:
                return self.failed("steps up", result, f"{file} failed")
        if not self.compare("steps up", db, self.target, f"{len(ups)} step file(s) applied in order"):
            return
        end, _ = self.downgrade_expectation()
        for file in downs:
            result = self.apply(db, file)
            if result.returncode != 0:
                return self.failed("steps down", result, f"{file} failed")
        if not self.compare("steps down", db, end, f"{len(downs)} step file(s) applied in reverse order"):
            return
        again = [s["up"]["file"] for s in self.steps if s["number"] in reverted]
        for file in again:
            result = self.apply(db, file)
            if result.returncode != 0:
                return self.failed("steps up again", result, f"{file} failed")
        if not self.compare("steps up again", db, self.target, f"{len(again)} step file(s) applied again"):
            return
        self.refuses_again("first step once more", db, ups[0])


def _server_and_dialect(bundle: Path, manifest: dict, dialect_name: str | None, url: str | None):
    """(server URL or None for SQLite, dialect) of a rehearsal, checked against the bundle."""
    server = driver_url(sa.make_url(url)) if url else None
    if dialect_name is None:
        dialect_name = "sqlite" if server is None else server.get_backend_name()
    if dialect_name not in manifest["dialects"]:
        raise DistillError(f"{bundle} has no {dialect_name} files (it has "
                           f"{', '.join(manifest['dialects'])})")
    if (server is None) != (dialect_name == "sqlite"):
        raise DistillError(f"rehearsing {dialect_name} needs --url of a {dialect_name} server"
                           if server is None else "--url is for server dialects; SQLite uses a temp file")
    return server, dialects.get(dialect_name)


def _edited(history: History, manifest: dict) -> list[str]:
    """Revisions whose current script differs from the shipped one (or no longer exists)."""
    def current(revision: str) -> str | None:
        try:
            return history.script_sha256(revision)
        except Exception:  # the revision is no longer in the history
            return None
    return [s["revision"] for s in manifest["steps"] if current(s["revision"]) != s["script_sha256"]]


def rehearse(bundle: Path, history: History, *, dialect_name: str | None = None, url: str | None = None,
             standalone: bool = False) -> Rehearsal:
    """Rehearse the bundle (directory or archive) at ``bundle``."""
    bundle = Path(bundle)
    verified = verify(bundle)
    if not verified.verified:
        raise DistillError(f"{bundle} does not verify, so it is not rehearsed:\n{verified.text()}")
    with bundle_directory(bundle) as root:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        server, dialect = _server_and_dialect(bundle, manifest, dialect_name, url)
        where = "temporary SQLite file" if server is None else server.render_as_string(hide_password=True)
        report = Rehearsal(str(bundle), dialect.name, where)
        report.phases.append(Phase("verify", True,
                                   f"{verified.files} files match SHA256SUMS and the manifest"))
        edited = _edited(history, manifest)
        if edited:
            report.phases.append(Phase("sources", False, "the current revision scripts differ from the "
                                       f"shipped ones ({', '.join(edited)}): online Alembic would not be "
                                       "a fair reference"))
            return report
        report.phases.append(Phase("sources", True, "the revision scripts are the ones shipped"))
        scratch = Scratch(server)
        try:
            run = _Run(history, root, manifest, dialect, scratch, report,
                       standalone or manifest["options"]["mode"] == "standalone")
            run.whole_files()
            run.step_files()
        finally:
            scratch.close()
        return report
