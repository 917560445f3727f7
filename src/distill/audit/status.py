"""distill status: where a live database is, read-only. Its revision(s), the release that matches,
the files distill recorded as applied (record_applied), which bundle applies next; with
``drift``, how its schema differs from what online Alembic builds at the same revision on a
throwaway database of the same dialect (the version and record tables are not drift)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .. import dialects
from ..bundle.manifest import bundle_identity
from ..config import Settings
from ..errors import CouldNotRun, DistillError
from ..history import releases
from ..history.scripts import History, display_revisions
from ..history.specs import resolve
from ..names import one_line
from ..rehearsal.online import migrate
from ..rehearsal.schema_diff import differences, readable
from ..rehearsal.snapshot import snapshot
from ..shadow import throwaway_database
from ..shadow.clients import UNUSABLE_URL, dialect_of, driver_url, first_line
from .bundle_diff import load_side

_RECORD_COLUMNS = ("bundle_name", "bundle_release", "file_path", "direction", "from_revisions",
                   "to_revisions", "bundle_sha256", "applied_by", "applied_at")
_NOT_SCHEMA = ("rows", "table_ddl")  # data, and stored CREATE TABLE text that repeats the columns


@dataclass
class NextBundle:
    path: str
    release: str
    starts_at: tuple[str, ...]
    applies: bool
    # the database is inside the bundle: its first ``steps_applied`` steps (of ``steps``) are
    # applied, ``next_file`` (the database's dialect's step file) applies next
    steps_applied: int = 0
    steps: int = 0
    next_file: str | None = None
    last_record: dict[str, Any] | None = None  # the record of the last file applied of this bundle
    # where the database is inside the bundle: what stays of a whole file that stopped half-way
    # (the dialect's runbook fact)
    if_whole_file_stopped: str = ""
    # the bundle starts here but has no files of the database's dialect (this dialect; a release
    # can leave a dialect out: [tool.distill.releases] dialects), and the dialects it has
    lacks: str = ""
    built_for: tuple[str, ...] = ()

    def verdict(self) -> str:
        if self.lacks:
            return (f"starts here, but has no {self.lacks} files: release {self.release} is built for "
                    f"{', '.join(self.built_for) or 'no dialect'}")
        if self.steps_applied:
            last = self.last_record
            by = f" (last: {last['file_path']}, by {last['applied_by'] or '?'} at {last['applied_at']})" \
                if last else ""
            stopped = "\n  if its whole upgrade file was applied and stopped there: " \
                + self.if_whole_file_stopped if self.if_whole_file_stopped else ""
            following = self.next_file or "the next step file (this bundle has none for this dialect)"
            return f"steps 1-{self.steps_applied} of {self.steps} applied{by}; next: {following}{stopped}"
        if self.applies:
            return "applies next"
        return f"does NOT apply here: it starts at {display_revisions(self.starts_at) or 'base'}"


@dataclass
class StatusReport:
    dialect: str
    heads: tuple[str, ...] | None  # None: no version table
    known: bool  # every head is a revision of the history
    release: str | None  # the release version the database is at
    record_table: str
    applied: list[dict[str, Any]] | None  # None: no record table
    next_bundles: list[NextBundle] = field(default_factory=list)
    given_bundle: bool = False
    drift: list[str] | None = None  # None: not asked
    latest_release: str | None = None  # the last version of [tool.distill.releases], if any
    warnings: list[str] = field(default_factory=list)  # bundles that could not be read

    @property
    def ok(self) -> bool:
        given_applies = bool(self.next_bundles) and all(b.applies for b in self.next_bundles)
        return self.known and not self.drift and (not self.given_bundle or given_applies)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "dialect": self.dialect,
                "revisions": None if self.heads is None else list(self.heads), "in_history": self.known,
                "release": self.release, "record_table": self.record_table, "applied": self.applied,
                "next": [{"bundle": b.path, "release": b.release, "starts_at": list(b.starts_at),
                          "applies": b.applies, "steps_applied": b.steps_applied, "steps": b.steps,
                          "next_file": b.next_file, "if_whole_file_stopped": b.if_whole_file_stopped,
                          "lacks_dialect": bool(b.lacks)}
                         for b in self.next_bundles],
                "at_latest_release": self.release is not None and self.release == self.latest_release,
                "warnings": self.warnings,
                **({} if self.drift is None else {"drift": self.drift})}

    def text(self) -> str:
        at = "no version table (an empty database)" if self.heads is None else \
            display_revisions(self.heads) or "base (an empty version table)"
        lines = [f"distill status ({self.dialect}): the database is at {at}"
                 + (f": release {self.release}" if self.release else "")]
        if not self.known:
            lines.append("  NOT IN THE HISTORY: a revision the project's history does not have")
        if self.applied is None:
            lines.append(f"applied files: no {self.record_table} table (nothing applied with record_applied)")
        else:
            lines.append(f"applied files ({self.record_table}): {len(self.applied)}")
            lines += [f"  {r['applied_at']}  {r['bundle_name']} {r['bundle_release'] or ''}  "
                      f"{r['file_path']}  {r['direction']} {r['from_revisions'] or 'base'} -> "
                      f"{r['to_revisions'] or 'base'}  by {r['applied_by'] or '?'}" for r in self.applied]
        for bundle in self.next_bundles:
            lines.append(f"bundle {bundle.path} (release {bundle.release}): {bundle.verdict()}")
        if not self.next_bundles and not self.given_bundle:
            lines.append(f"next: none: the database is at the latest release, {self.release}"
                         if self.release is not None and self.release == self.latest_release
                         else "next: no bundle under releases/ starts here")
        lines += [f"warning: {w}" for w in self.warnings]
        if self.drift is not None:
            lines.append(f"DRIFT: {len(self.drift)}" if self.drift else
                         "no drift: the schema is what online Alembic builds at this revision")
            lines += [f"  {d}" for d in self.drift]
        return "\n".join(lines)


def _found(connection: sa.Connection, table: str, schema: str | None) -> str | None:
    """The quoted name of ``table`` (in ``schema``) as the database spells it, matched without
    regard to case; None when it has no such table."""
    names = sa.inspect(connection).get_table_names(schema=schema)
    actual = next((n for n in names if n == table), None) or next(
        (n for n in names if n.lower() == table.lower()), None)
    if actual is None:
        return None
    quote = connection.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(actual)}" if schema else quote(actual)


def _live(url: sa.URL, version_table: str, schema: str | None,
          record_table: str) -> tuple[tuple[str, ...] | None, list | None]:
    try:
        engine = sa.create_engine(driver_url(url), poolclass=sa.pool.NullPool)
    except UNUSABLE_URL as exc:
        raise CouldNotRun(f"--url cannot be used: {one_line(str(exc))[:300]}") from None
    try:
        with engine.connect() as connection:
            with connection.begin() as transaction:
                versions = _found(connection, version_table, schema)
                rows = [] if versions is None else connection.exec_driver_sql(
                    f"SELECT version_num FROM {versions}")  # noqa: S608 - a quoted, checked name
                heads = None if versions is None else tuple(sorted(one_line(str(r[0])) for r in rows))
                applied = None
                records = _found(connection, record_table, None)
                if records is not None:
                    query = f"SELECT {', '.join(_RECORD_COLUMNS)} FROM {records} ORDER BY id"  # noqa: S608
                    applied = [{k: (one_line(str(v)) if v is not None else None)  # the database's text
                                for k, v in zip(_RECORD_COLUMNS, row, strict=True)}
                               for row in connection.exec_driver_sql(query)]
                transaction.rollback()  # read-only: nothing to keep
            return heads, applied
    except sa.exc.DBAPIError as exc:
        raise CouldNotRun(f"cannot read {url.render_as_string(hide_password=True)}: "
                          f"{first_line(exc)}") from None
    finally:
        engine.dispose()


def _sqlite_read_only(url: sa.URL) -> sa.URL:
    """An existing SQLite file, opened read-only: status never creates or changes one."""
    path = Path(url.database or "")
    if not url.database or not path.is_file():
        raise CouldNotRun(f"--url names no SQLite file that exists ({one_line(url.database or 'in memory')})")
    return url.set(database=f"file:{path.resolve().as_posix()}", query={"mode": "ro", "uri": "true"})


def _release_at(history: History, settings: Settings, heads: tuple[str, ...]) -> str | None:
    for version in settings.releases:  # none without a [tool.distill.releases] map
        if tuple(sorted(resolve(history, settings.releases[version]))) == heads:
            return version
    return None


def _bundles(paths: list[Path], heads: tuple[str, ...], dialect: str, applied: list[dict[str, Any]] | None,
             warnings: list[str], version_table: str) -> list[NextBundle]:
    """What each bundle of ``paths`` says of a database at ``heads``; a bundle that cannot be read
    is a line in ``warnings``."""
    found = []
    for path in paths:
        try:
            manifest = load_side(path).manifest  # a directory or an archive, its manifest checked
            bundle = _placed(one_line(str(path)), manifest, heads, dialect, applied)
            if bundle.steps_applied and dialect in manifest["dialects"]:
                bundle.if_whole_file_stopped = dialects.get(dialect).client.resume.format(
                    version_table=version_table)
            found.append(bundle)
        except (DistillError, KeyError, TypeError, ValueError) as exc:
            reason = exc.message if isinstance(exc, DistillError) else f"its manifest lacks {exc}"
            warnings.append(f"{one_line(str(path))}: cannot be read: {one_line(str(reason))[:300]}")
    return found


def _placed(path: str, manifest: dict[str, Any], heads: tuple[str, ...], dialect: str,
            applied: list[dict[str, Any]] | None) -> NextBundle:
    """The bundle at ``path`` for a database at ``heads``: where it starts, and when the database
    is at the end of one of its steps (not the last), how many are applied and which file is next."""
    starts = tuple(sorted(manifest["range"]["from"]))
    bundle = NextBundle(path, one_line(manifest["release"]), starts, starts == heads)
    if bundle.applies and dialect not in manifest["dialects"]:
        bundle.applies, bundle.lacks = False, dialect
        bundle.built_for = tuple(one_line(str(name)) for name in manifest["dialects"])
    order = [step["revision"] for step in sorted(manifest["steps"], key=lambda s: s["number"])]
    if len(heads) == 1 and heads[0] in order[:-1]:
        done = order.index(heads[0]) + 1
        files = manifest["dialects"].get(dialect, {}).get("steps", [])
        following = next((s for s in files if s["revision"] == order[done]), {})
        identity = bundle_identity(manifest)
        mine = [r for r in applied or [] if r["bundle_sha256"] == identity]
        bundle.steps_applied, bundle.steps, bundle.applies = done, len(order), True
        bundle.next_file = one_line(following.get("up", {}).get("file", "")) or None
        bundle.last_record = mine[-1] if mine else None
    return bundle


def drift(history: History, url: sa.URL, heads: tuple[str, ...], version_table: str,
          record_table: str, standalone: bool) -> list[str]:
    """How the live schema at ``url`` differs from online Alembic's at ``heads``."""
    dialect = dialect_of(url)
    with throwaway_database(dialect) as (throwaway, _):
        reference = driver_url(throwaway)
        if heads:
            migrate(history, reference, "upgrade", ",".join(heads), standalone=standalone)
        try:
            expected, actual = (_schema(snapshot(u, rows=False), version_table, record_table)
                                for u in (reference, driver_url(url)))
        except sa.exc.DBAPIError as exc:  # a role that may not read the catalog, a table it cannot see
            raise CouldNotRun(f"cannot read the schema of {url.render_as_string(hide_password=True)}: "
                              f"{one_line(str(exc.orig).strip())[:300]}") from None
    return [one_line(readable(d, ("the history", "the database"))) for d in differences(expected, actual)]


def _schema(snap: dict[str, Any], *ignored_tables: str) -> dict[str, Any]:
    out = {k: v for k, v in snap.items() if k not in _NOT_SCHEMA}
    ignored = {name.lower() for name in ignored_tables}
    out["tables"] = {k: v for k, v in snap["tables"].items() if k.lower() not in ignored}
    return out


def status(history: History, url: str, *, bundle: Path | None = None, with_drift: bool = False,
           standalone: bool = False) -> StatusReport:
    """The status of the database at ``url`` (see the module)."""
    try:
        parsed = sa.engine.make_url(url)
        dialect = dialect_of(parsed)
    except Exception:  # noqa: BLE001 - any malformed URL or unknown dialect is the same answer
        raise CouldNotRun("--url is not a database URL of a dialect distill knows "
                          "(dialect://user:password@host/database)") from None
    if dialect.name == "sqlite":
        parsed = _sqlite_read_only(parsed)
    settings = history.settings
    version_table, record_table = settings.standalone.version_table, settings.record_table
    heads, applied = _live(parsed, version_table, settings.standalone.version_table_schema, record_table)
    at = heads or ()
    known = all(history.has(h) for h in at)
    report = StatusReport(dialect.name, heads, known, _release_at(history, settings, at) if known else None,
                          record_table, applied, given_bundle=bundle is not None,
                          latest_release=list(settings.releases)[-1] if settings.releases else None)
    candidates = [bundle] if bundle is not None else sorted(
        p for p in releases.default_releases_dir(settings).glob("*") if (p / "manifest.json").is_file())
    report.next_bundles = [b for b in _bundles(candidates, at, dialect.name, applied, report.warnings,
                                               version_table) if bundle is not None or b.applies or b.lacks]
    if with_drift and known:
        report.drift = drift(history, parsed, at, version_table, record_table, standalone)
    return report

