"""One rehearsal of one dialect: apply the bundle's files and compare after each phase.

The reference for a phase is what online Alembic gives for the same path: from the range's start
up to the target, then down to where the downgrade ends, then up again. (Compared with a fresh
database at the starting revision, an extension that an upgrade creates and its downgrade keeps
would be a false failure.) When a phase differs, a second online reference for the same path
shows what online Alembic itself writes differently on each run (``datetime.now()``, ``uuid4()``,
a server's ``now()``): that is reported as not comparable, not as a difference. Every phase runs;
after a file fails to apply, the phases that depend on it are reported as not run.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from ..history.scripts import History, display_revisions
from ..shadow.clients import run_script
from .online import migrate
from .report import Phase, Rehearsal
from .schema_diff import NOTHING, comparable_differences, readable, unstable, without_empty_table
from .scratch import Scratch
from .snapshot import snapshot

# One move of online Alembic: ("upgrade" or "downgrade", the revisions it goes to).
Move = tuple[str, tuple[str, ...]]


class BundleRun:
    def __init__(self, history: History, bundle: Any, manifest: dict, dialect: Any, scratch: Scratch,
                 report: Rehearsal, standalone: bool) -> None:
        self.history, self.bundle, self.manifest = history, bundle, manifest
        self.dialect, self.scratch, self.report = dialect, scratch, report
        self.standalone = standalone
        self.references: dict[tuple[tuple[Move, ...], int], dict] = {}
        self.made_at: dict[tuple[Move, ...], float] = {}
        entry = manifest["dialects"][dialect.name]
        self.start = tuple(manifest["range"]["from"])
        self.target = tuple(manifest["range"]["to"])
        self.point = entry["point_of_no_return"]
        self.steps = entry["steps"]
        # The version table as online Alembic used it (env.py may rename it), learnt from the
        # first migration: every phase migrates a reference before it compares.
        self.version_table: str | None = None

    # ---- databases ---------------------------------------------------------------------------
    def _move(self, url: sa.URL, verb: str, revisions: tuple[str, ...]) -> None:
        targets = revisions if verb == "upgrade" else (",".join(revisions) or "base",)
        for target in targets:
            self.version_table, _ = migrate(self.history, url, verb, target, standalone=self.standalone)

    def at(self, path: tuple[Move, ...] = ()) -> sa.URL:
        """A new scratch database that online Alembic brought to the start, then along ``path``."""
        url = self.scratch.create()
        for verb, revisions in (("upgrade", self.start), *path):
            self._move(url, verb, revisions)
        return url

    def reference(self, path: tuple[Move, ...], copy: int = 0) -> dict:
        """The snapshot of online Alembic's database after ``path`` (``copy`` 1: a second one,
        made at least a second after the first: SQLite's CURRENT_TIMESTAMP has whole seconds)."""
        if (path, copy) not in self.references:
            if copy:
                time.sleep(max(0.0, self.made_at[path] + 1.05 - time.time()))
            url = self.at(path)
            self.made_at.setdefault(path, time.time())
            self.references[path, copy] = snapshot(url)
        return self.references[path, copy]

    def _at_end(self, path: tuple[Move, ...], snap: dict) -> dict:
        return self._at_base(snap) if not path[-1][1] else snap

    # ---- phases ------------------------------------------------------------------------------
    def apply(self, url: sa.URL, file: str):
        return run_script(self.dialect, url, self.bundle / file)

    def _at_base(self, snap: dict) -> dict:
        # a downgrade to base leaves an empty version table behind, online or not
        return without_empty_table(snap, self.version_table) if self.version_table else snap

    def compare(self, name: str, url: sa.URL, path: tuple[Move, ...], detail: str) -> None:
        found = self._at_end(path, snapshot(url))
        try:
            expected = self._at_end(path, self.reference(path))
        except Exception as exc:  # the revisions' own code, run online: any error is theirs
            moves = ", then ".join(f"{verb} to {display_revisions(list(to))}" for verb, to in path)
            text = " ".join(str(exc).split())[:400]
            self.report.phases.append(Phase(name, False, f"{detail}; online Alembic itself fails on the "
                                            f"same path ({moves}): {type(exc).__name__}: {text}"))
            return
        varying = NOTHING
        diffs = comparable_differences(expected, found, varying)
        if diffs:  # a second reference tells what online Alembic itself does not repeat
            varying = unstable(expected, self._at_end(path, self.reference(path, 1)))
            diffs = comparable_differences(expected, found, varying)
        at = display_revisions(list(path[-1][1]))
        verdict = f"{'differs from' if diffs else 'compared with'} online Alembic at {at}"
        phase = Phase(name, not diffs, f"{detail}; {verdict}", [readable(d) for d in diffs],
                      list(varying.names))
        if path[-1][0] == "downgrade" and not diffs:
            phase.not_restored = self._not_restored(path, found, varying)
        self.report.phases.append(phase)

    def _not_restored(self, path: tuple[Move, ...], found: dict, varying: Any) -> list[str]:
        """What a downgrade leaves that a database never taken above its end lacks (online
        Alembic's own downgrade leaves the same, so it is no failure: an extension kept on
        purpose, or a column the revision's downgrade forgets)."""
        end = path[-1][1]
        fresh = self._at_end(path, self.reference((("upgrade", end),) if end != self.start else ()))
        found_diffs = comparable_differences(fresh, found, varying)
        # rows and stored CREATE TABLE text of a table whose columns differ only repeat that
        changed = {d.split(".")[1] for d in found_diffs if d.startswith("tables.")}
        return [readable(d) for d in found_diffs
                if not (d.startswith("rows.") and d.split(".")[1].split(":")[0] in changed)
                and not (d.startswith("table_ddl:") and any(f"('{t}'," in d for t in changed))]

    def failed(self, name: str, result, expected: str) -> None:
        output = (result.stderr + result.stdout).decode("utf-8", errors="replace").strip()
        self.report.phases.append(Phase(name, False, f"{expected}; the client said: {output[-600:]}"))

    def not_run(self, names: list[str], why: str) -> None:
        self.report.phases += [Phase(name, False, f"not run: {why}") for name in names]

    def refuses_again(self, name: str, url: sa.URL, file: str) -> None:
        before = snapshot(url)
        result = self.apply(url, file)
        output = (result.stderr + result.stdout).decode("utf-8", errors="replace")
        diffs = [readable(d) for d in comparable_differences(before, snapshot(url), NOTHING)]
        ok = result.returncode != 0 and "distill guard" in output and not diffs
        detail = ("the guard refused it and nothing changed" if ok else
                  f"expected the guard to refuse it (exit {result.returncode}): {output.strip()[-300:]}")
        self.report.phases.append(Phase(name, ok, detail, diffs))

    def downgrade_expectation(self) -> tuple[tuple[str, ...], str | None]:
        """Where a downgrade ends, and the error it must stop with (at a point of no return)."""
        if self.point is None:
            return self.start, None
        return (self.point["revision"],), f"cannot revert {self.point['revision']}"

    def whole_files(self) -> None:
        d = self.dialect.name
        up, (end, stop) = ("upgrade", self.target), self.downgrade_expectation()
        down = ("downgrade", end)
        db = self.at()
        result = self.apply(db, f"{d}/upgrade.sql")
        if result.returncode != 0:
            self.failed("upgrade.sql", result, "the upgrade failed")
            return self.not_run(["downgrade.sql", "upgrade.sql again", "upgrade.sql once more"],
                                "upgrade.sql failed")
        self.compare("upgrade.sql", db, (up,), "applied")
        result = self.apply(db, f"{d}/downgrade.sql")
        output = (result.stderr + result.stdout).decode("utf-8", errors="replace")
        if (result.returncode != 0) if stop is None else (result.returncode == 0 or stop not in output):
            self.failed("downgrade.sql", result, "the downgrade failed" if stop is None
                        else f"expected it to stop with '{stop}'")
            return self.not_run(["upgrade.sql again", "upgrade.sql once more"], "downgrade.sql failed")
        how = "applied" if stop is None else f"reverted down to the point of no return and stopped: {stop}"
        self.compare("downgrade.sql", db, (up, down), how)
        if stop is None:
            result = self.apply(db, f"{d}/upgrade.sql")
            if result.returncode != 0:
                self.failed("upgrade.sql again", result, "the second upgrade failed")
                return self.not_run(["upgrade.sql once more"], "the second upgrade failed")
            self.compare("upgrade.sql again", db, (up, down, up), "applied after the downgrade")
        else:
            self.report.phases.append(Phase("upgrade.sql again", True, "not applicable: the database "
                                            "stopped at the point of no return, below the upgrade's start"))
        self.refuses_again("upgrade.sql once more", db, f"{d}/upgrade.sql")

    def _apply_all(self, name: str, db: sa.URL, files: list[str], later: list[str]) -> bool:
        for file in files:
            result = self.apply(db, file)
            if result.returncode != 0:
                self.failed(name, result, f"{file} failed")
                self.not_run(later, f"{file} failed")
                return False
        return True

    def step_files(self) -> None:
        db = self.at()
        up, (end, _) = ("upgrade", self.target), self.downgrade_expectation()
        down = ("downgrade", end)
        ups = [s["up"]["file"] for s in self.steps if "up" in s]
        downs = [s["down"]["file"] for s in reversed(self.steps) if "down" in s]
        reverted = {s["number"] for s in self.steps if "down" in s}
        again = [s["up"]["file"] for s in self.steps if s["number"] in reverted]
        if not self._apply_all("steps up", db, ups, ["steps down", "steps up again", "first step once more"]):
            return
        self.compare("steps up", db, (up,), f"{len(ups)} step file(s) applied in order")
        if not self._apply_all("steps down", db, downs, ["steps up again", "first step once more"]):
            return
        self.compare("steps down", db, (up, down), f"{len(downs)} step file(s) applied in reverse order")
        if not self._apply_all("steps up again", db, again, ["first step once more"]):
            return
        self.compare("steps up again", db, (up, down, up), f"{len(again)} step file(s) applied again")
        self.refuses_again("first step once more", db, ups[0])
